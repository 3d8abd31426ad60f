import { derivedId, type IdSeed, newId } from '@ledger/ingest';
import t from 'tap';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const createdAt = Date.parse('2026-11-26T10:00:00.000Z');
const seed = (idempotencyKey: string, at = createdAt): IdSeed => ({
  keyId: 'k1',
  route: 'POST /v1/claims',
  idempotencyKey,
  createdAt: at,
});

/** The 128 bits of a UUID, most significant first. */
function bits(uuid: string): string {
  return [...uuid.replaceAll('-', '')]
    .map((digit) => Number.parseInt(digit, 16).toString(2).padStart(4, '0'))
    .join('');
}

// RFC 9562 UUIDv7: 48 bits unix_ts_ms, 4 bits version, 12 bits rand_a, 2 bits variant, 62 bits rand_b.
const RANDOM_BITS = [
  ...Array.from({ length: 12 }, (_, i) => 52 + i),
  ...Array.from({ length: 62 }, (_, i) => 66 + i),
];

t.test('derived ids are UUIDv7s carrying createdAt and 74 bits from the digest', async (t) => {
  const ids = Array.from({ length: 256 }, (_, i) => derivedId(seed(`key-${i}`), 'claim'));
  for (const id of ids) t.match(id, UUID_V7);
  t.equal(new Set(ids).size, ids.length, 'all different');
  t.equal(
    Number.parseInt(ids[0]!.replaceAll('-', '').slice(0, 12), 16),
    createdAt,
    'unix_ts_ms is createdAt',
  );
  t.equal(RANDOM_BITS.length, 74);
  const varying = RANDOM_BITS.filter((bit) => new Set(ids.map((id) => bits(id)[bit])).size === 2);
  t.same(varying, RANDOM_BITS, 'every random bit takes both values across the ids');
  t.equal(new Set(ids.map((id) => id.slice(14, 18))).size > 64, true, 'the 13th–16th hex digits vary');
});

t.test('derived ids are deterministic for the same seed and purpose, and differ otherwise', async (t) => {
  const claim = derivedId(seed('abc'), 'claim');
  t.equal(derivedId(seed('abc'), 'claim'), claim);
  // Pinned: a change here would make a retry across an upgrade derive another id and append a second event.
  t.equal(claim, '01a2174c-3500-7e96-9479-690d3b07a88d', 'stable across versions');
  t.not(derivedId(seed('abc'), 'event'), claim, 'the event id differs from the claim id');
  t.not(derivedId(seed('abd'), 'claim'), claim);
  t.not(derivedId({ ...seed('abc'), keyId: 'k2' }, 'claim'), claim);
  t.not(derivedId({ ...seed('abc'), route: 'POST /v1/claims/x/denials' }, 'claim'), claim);
  const later = derivedId(seed('abc', createdAt + 1), 'claim');
  t.not(later, claim);
  t.ok(later.slice(0, 13) > claim.slice(0, 13), 'later records sort later');
});

t.test('fresh ids are UUIDv7s and unique', async (t) => {
  const ids = Array.from({ length: 100 }, () => newId());
  for (const id of ids) t.match(id, UUID_V7);
  t.equal(new Set(ids).size, 100);
});
