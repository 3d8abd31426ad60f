import {
  StreamNotFoundError as EsdbStreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
} from '@eventstore/db-client';
import {
  fromEsdbCurrentRevision,
  fromEsdbError,
  fromStoredName,
  isAt,
  passes,
  readAllPlan,
  subscriptionStart,
  toEsdbExpectedRevision,
  toEsdbFilter,
  toPortEvent,
  toStoredName,
  validateEsdbEvents,
} from '@ledger/event-store-eventstoredb';
import t from 'tap';

const at = (n: bigint) => ({ commit: n, prepare: n });

t.test('expected revisions pass through in the four forms', async (t) => {
  for (const expected of ['any', 'no_stream', 'stream_exists', 0n, 41n] as const) {
    t.equal(toEsdbExpectedRevision(expected), expected);
  }
});

t.test('the actual revision of a conflict', async (t) => {
  t.equal(fromEsdbCurrentRevision('no_stream'), 'no_stream');
  t.equal(fromEsdbCurrentRevision(-1n), 'no_stream', 'older servers say -1');
  t.equal(fromEsdbCurrentRevision(undefined), 'no_stream');
  t.equal(fromEsdbCurrentRevision(3n), 3n);
});

t.test('client errors become the port’s typed errors', async (t) => {
  const conflict = new EsdbWrongExpectedVersionError(undefined, {
    streamName: 'ns-claim-1',
    expected: 0n,
    current: 4n,
  } as never);
  const mapped = fromEsdbError(conflict, 'claim-1', 0n) as Record<string, unknown>;
  t.match(mapped, {
    code: 'wrong-expected-version',
    streamName: 'claim-1',
    expectedVersion: 0n,
    actualVersion: 4n,
  });
  t.match(
    fromEsdbError({ type: 'wrong-expected-version', actualVersion: 'no_stream' }, 's', 'stream_exists'),
    {
      code: 'wrong-expected-version',
      expectedVersion: 'stream_exists',
      actualVersion: 'no_stream',
    },
  );
  t.match(fromEsdbError(new EsdbStreamNotFoundError(undefined, 'ns-missing'), 'missing'), {
    code: 'stream-not-found',
    streamName: 'missing',
  });
  t.match(fromEsdbError({ type: 'maximum-append-size-exceeded', maxAppendSize: 1048576 }, 's'), {
    code: 'invalid-append',
    message: /1048576 bytes/,
  });
  for (const type of ['unavailable', 'deadline-exceeded']) {
    t.match(fromEsdbError({ type, message: 'connection refused' }, 's'), {
      code: 'store-unavailable',
      message: /unavailable: connection refused/,
    });
  }
  t.match(fromEsdbError({ type: 'unavailable' }, 's'), { message: /unavailable: unavailable/ });
  const denied = { type: 'access-denied', message: 'no' };
  t.equal(fromEsdbError(denied, 's'), denied, 'anything else passes as is');
  t.equal(fromEsdbError('text', 's'), 'text');
});

t.test('event ids are UUIDs, once per append', async (t) => {
  const id = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
  t.doesNotThrow(() =>
    validateEsdbEvents([
      { id, type: 'A', data: {} },
      { type: 'B', data: {} },
    ]),
  );
  t.throws(() => validateEsdbEvents([{ id: 'evt-1', type: 'A', data: {} }]), { code: 'invalid-append' });
  t.throws(
    () =>
      validateEsdbEvents([
        { id, type: 'A', data: {} },
        { id: id.toUpperCase(), type: 'B', data: {} },
      ]),
    { code: 'duplicate-event-id' },
    'the server answers ids lower-case, so case does not make another id',
  );
});

t.test('stream names under a namespace', async (t) => {
  t.equal(toStoredName('t1-', 'claim-1'), 't1-claim-1');
  t.equal(toStoredName('', 'claim-1'), 'claim-1');
  t.equal(fromStoredName('t1-', 't1-claim-1'), 'claim-1');
  t.equal(fromStoredName('t1-', 't2-claim-1'), undefined, 'another namespace');
  t.equal(fromStoredName('', '$stats-0.0.0.0:2113'), undefined, 'system streams');
  t.equal(fromStoredName('', '$$claim-1'), undefined, 'metadata streams');
  t.equal(fromStoredName('t1-', 't1-'), undefined);
  t.ok(passes(undefined, '', 'claim-1', 'ClaimMade'));
  t.ok(passes({ streamNamePrefixes: ['claim-'] }, 'n-', 'n-claim-1', 'ClaimMade'));
  t.notOk(passes({ streamNamePrefixes: ['claim-'] }, 'n-', 'claim-1', 'ClaimMade'));
  t.notOk(passes({ eventTypes: ['ClaimMade'] }, '', 'claim-1', 'ClaimMadeV2'), 'types match exactly');
  t.notOk(passes(undefined, '', '$et-ClaimMade', '$>'));
});

t.test('subscription filters', async (t) => {
  t.match(toEsdbFilter(undefined, ''), { filterOn: 'eventType', regex: '^[^$].*' }, 'no system events');
  t.match(toEsdbFilter(undefined, 'n-'), { filterOn: 'streamName', prefixes: ['n-'] }, 'the namespace');
  t.match(toEsdbFilter({ streamNamePrefixes: ['claim-', 'key-'] }, 'n-'), {
    filterOn: 'streamName',
    prefixes: ['n-claim-', 'n-key-'],
  });
  const byType = toEsdbFilter({ eventTypes: ['ClaimDenied', 'A.b+c'] }, '') as { regex: string };
  t.match(byType, { filterOn: 'eventType' });
  const regex = new RegExp(byType.regex);
  t.ok(regex.test('ClaimDenied'));
  t.ok(regex.test('A.b+c'));
  t.notOk(regex.test('ClaimDeniedV2'), 'anchored');
  t.notOk(regex.test('AXbbc'), 'escaped');
  const none = new RegExp((toEsdbFilter({ eventTypes: [] }, '') as { regex: string }).regex);
  t.notOk(none.test('') || none.test('A'), 'an empty list matches nothing');
});

t.test(
  '$all reads: backwards from a position is inclusive in the port, exclusive in EventStoreDB',
  async (t) => {
    t.same(readAllPlan(undefined, undefined), { direction: 'forwards', fromPosition: 'start' });
    t.same(readAllPlan('backwards', undefined), { direction: 'backwards', fromPosition: 'end' });
    t.same(
      readAllPlan('forwards', at(5n)),
      { direction: 'forwards', fromPosition: at(5n) },
      'forwards is inclusive in both',
    );
    t.same(readAllPlan('backwards', at(5n)), {
      direction: 'backwards',
      fromPosition: at(5n),
      includeExactly: at(5n),
    });
    t.same(readAllPlan('backwards', 'end'), { direction: 'backwards', fromPosition: 'end' });
    t.ok(isAt({ position: at(5n) }, at(5n)));
    t.notOk(isAt({ position: { commit: 5n, prepare: 4n } }, at(5n)));
    t.notOk(isAt({ position: at(6n) }, at(5n)));
    t.equal(subscriptionStart(undefined), 'start');
    t.same(subscriptionStart(at(9n)), at(9n), 'both exclusive: no shift');
    t.equal(subscriptionStart('end'), 'end');
  },
);

t.test('recorded events', async (t) => {
  const created = new Date('2026-11-26T12:00:00Z');
  const recorded = {
    streamId: 'n-claim-1',
    id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    isJson: true as const,
    revision: 2n,
    type: 'ClaimMade',
    created,
    data: { a: 1 },
    metadata: { principal: 'k' },
    position: at(77n),
  };
  t.same(toPortEvent(recorded, 'n-'), {
    id: recorded.id,
    streamId: 'claim-1',
    revision: 2n,
    type: 'ClaimMade',
    data: { a: 1 },
    metadata: { principal: 'k' },
    position: at(77n),
    created,
  });
  t.equal(toPortEvent(undefined, ''), undefined, 'a link to a deleted event');
  t.equal(toPortEvent({ ...recorded, streamId: 'other' }, 'n-'), undefined);
  t.equal(
    toPortEvent({ ...recorded, isJson: false } as never, 'n-'),
    undefined,
    'binary events are not the ledger’s',
  );
  t.same(
    toPortEvent({ ...recorded, position: undefined }, 'n-', at(3n))?.position,
    at(3n),
    'a fallback position',
  );
  t.throws(() => toPortEvent({ ...recorded, position: undefined }, 'n-'), /without a position/);
});
