import { createHash } from 'node:crypto';
import {
  canonicalContent,
  canonicalJson,
  eventHash,
  eventHashOfContent,
  GENESIS_HASH,
  type HashedEvent,
  splitIntegrity,
} from '@ledger/integrity';
import fc from 'fast-check';
import t from 'tap';

const event: HashedEvent = {
  prev: GENESIS_HASH,
  position: 1n,
  streamId: 'claim-1',
  revision: 0n,
  id: '0192f6a0-0000-7000-8000-000000000001',
  type: 'ClaimMade',
  data: { summary: 'Zirconium 锆', targets: [], confidence: 80, nested: { b: true, a: null } },
  metadata: { recordedAt: '2020-09-10T13:00:00.000Z', principal: 'admin' },
  created: '2026-11-26T12:00:00.000Z',
};

t.test('the hash is SHA-256 over the documented canonical form', async (t) => {
  // Written out by hand from the README's procedure: keys sorted, no whitespace, position and revision as strings.
  const canonical =
    '{"created":"2026-11-26T12:00:00.000Z","data":{"confidence":80,"nested":{"a":null,"b":true},' +
    '"summary":"Zirconium 锆","targets":[]},"id":"0192f6a0-0000-7000-8000-000000000001",' +
    '"metadata":{"principal":"admin","recordedAt":"2020-09-10T13:00:00.000Z"},"position":"1",' +
    `"prev":"${GENESIS_HASH}","revision":"0","streamId":"claim-1","type":"ClaimMade"}`;
  t.equal(eventHash(event), createHash('sha256').update(canonical, 'utf8').digest('hex'));
});

t.test('every hashed field changes the hash', async (t) => {
  const base = eventHash(event);
  const variants: Partial<HashedEvent>[] = [
    { prev: 'a'.repeat(64) },
    { position: 2n },
    { streamId: 'claim-2' },
    { revision: 1n },
    { id: '0192f6a0-0000-7000-8000-000000000002' },
    { type: 'ClaimDenied' },
    { data: { ...(event.data as object), confidence: 81 } },
    { metadata: { ...event.metadata, principal: 'other' } },
    { created: '2026-11-26T12:00:00.001Z' },
  ];
  for (const variant of variants) {
    t.not(eventHash({ ...event, ...variant }), base, `changing ${Object.keys(variant)[0]}`);
  }
});

t.test('key order and JSON spelling do not change the hash; values do', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const reordered = JSON.parse(JSON.stringify(value));
      return eventHash({ ...event, data: value }) === eventHash({ ...event, data: reordered });
    }),
  );
  t.equal(
    canonicalJson({ b: 1, a: [1e21, 0.1, -0], c: 'é' }),
    '{"a":[1e+21,0.1,0],"b":1,"c":"é"}',
    'RFC 8785 numbers and key order',
  );
  t.throws(() => canonicalJson({ bad: '\ud800' }), 'a lone surrogate has no canonical form');
});

t.test('hashing around pre-canonicalised data and metadata gives the same hash', async (t) => {
  const text = fc.string({ unit: 'binary' });
  const field = fc.oneof(text, fc.constantFrom('claim-"quoted"', 'é\u2028', '\\'));
  fc.assert(
    fc.property(
      fc.jsonValue(),
      fc.option(fc.dictionary(text, fc.jsonValue()), { nil: undefined }),
      fc.record({ streamId: field, id: field, type: field, created: field }),
      fc.bigInt({ min: 0n, max: 2n ** 64n }),
      (data, metadata, strings, position) => {
        const dataJson = JSON.stringify(data);
        const metadataJson = metadata === undefined ? null : JSON.stringify(metadata);
        const hashed: HashedEvent = {
          ...strings,
          prev: GENESIS_HASH,
          position,
          revision: position / 3n,
          data: JSON.parse(dataJson),
          metadata: metadataJson === null ? {} : JSON.parse(metadataJson),
        };
        const { data: _data, metadata: _metadata, ...envelope } = hashed;
        return eventHashOfContent(envelope, canonicalContent(dataJson, metadataJson)) === eventHash(hashed);
      },
    ),
  );
  const { data: _data, metadata: _metadata, ...envelope } = event;
  t.equal(
    eventHashOfContent(
      envelope,
      canonicalContent(JSON.stringify(event.data), JSON.stringify(event.metadata)),
    ),
    eventHash(event),
  );
  t.throws(() => canonicalContent('{"bad":"\\ud800"}', null), 'a lone surrogate has no canonical form');
});

t.test('splitIntegrity', async (t) => {
  const integrity = { hash: 'b'.repeat(64), prev: GENESIS_HASH };
  t.same(splitIntegrity({ integrity, recordedAt: 'x' }), { integrity, rest: { recordedAt: 'x' } });
  t.same(splitIntegrity({ integrity: { hash: 'nothex', prev: GENESIS_HASH } }), {
    integrity: undefined,
    rest: {},
  });
  t.same(splitIntegrity(undefined), { integrity: undefined, rest: undefined });
  t.same(splitIntegrity(['a']), { integrity: undefined, rest: undefined });
});
