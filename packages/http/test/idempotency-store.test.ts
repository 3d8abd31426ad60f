import { join } from 'node:path';
import { type BeginResult, requestHash, STALE_IN_FLIGHT_MS, StateStore } from '@ledger/http';
import t, { type Test } from 'tap';
import { manualClock } from './fixtures/helpers.js';

const scope = { keyId: 'k1', route: 'POST /v1/claims', idempotencyKey: 'abc' };
const hashA = requestHash({ a: 1 });
const hashB = requestHash({ a: 2 });

function open(t: Test, dir = t.testdir(), ttlMs = 3_600_000) {
  const clock = manualClock();
  const state = StateStore.open(join(dir, 'state.db'), { clock: clock.now, idempotencyTtlMs: ttlMs });
  t.teardown(() => state.close());
  return { store: state.idempotency, clock, dir };
}

/** The `lockedAt` of a `new` answer: the ownership `complete` and `abandon` take. */
function lockOf(result: BeginResult): number {
  if (result.kind !== 'new') throw new Error(`expected a new record, got ${result.kind}`);
  return result.lockedAt;
}

t.test('new, in-flight, then replay after complete', async (t) => {
  const { store, clock } = open(t);
  const begun = store.begin({ ...scope, requestHash: hashA });
  t.same(begun, { kind: 'new', createdAt: clock.now(), lockedAt: clock.now(), resumed: false });
  t.same(store.begin({ ...scope, requestHash: hashA }), { kind: 'in-flight' });
  t.same(store.begin({ ...scope, requestHash: hashB }), { kind: 'mismatch' }, 'another body while in flight');
  store.complete({
    ...scope,
    lockedAt: lockOf(begun),
    status: 201,
    body: { claimId: 'c1' },
    headers: { location: '/v1/claims/c1' },
  });
  t.same(store.begin({ ...scope, requestHash: hashA }), {
    kind: 'replay',
    status: 201,
    body: { claimId: 'c1' },
    headers: { location: '/v1/claims/c1' },
  });
  t.same(store.begin({ ...scope, requestHash: hashB }), { kind: 'mismatch' });
});

t.test('records are scoped to key, route and idempotency key', async (t) => {
  const { store } = open(t);
  store.begin({ ...scope, requestHash: hashA });
  t.equal(store.begin({ ...scope, keyId: 'k2', requestHash: hashA }).kind, 'new');
  t.equal(store.begin({ ...scope, route: 'POST /v1/claims/x/denials', requestHash: hashA }).kind, 'new');
  t.equal(store.begin({ ...scope, idempotencyKey: 'other', requestHash: hashA }).kind, 'new');
});

t.test('abandon forgets an in-flight request only', async (t) => {
  const { store } = open(t);
  store.abandon({ ...scope, lockedAt: lockOf(store.begin({ ...scope, requestHash: hashA })) });
  const retry = store.begin({ ...scope, requestHash: hashB });
  t.equal(retry.kind, 'new', 'the key is free for a corrected retry');
  store.complete({ ...scope, lockedAt: lockOf(retry), status: 201, body: {}, headers: {} });
  store.abandon({ ...scope, lockedAt: lockOf(retry) });
  t.equal(store.begin({ ...scope, requestHash: hashB }).kind, 'replay', 'a completed record stays');
});

t.test('records expire after their TTL', async (t) => {
  const { store, clock } = open(t);
  const begun = store.begin({ ...scope, requestHash: hashA });
  store.complete({ ...scope, lockedAt: lockOf(begun), status: 201, body: {}, headers: {} });
  clock.advance(3_600_000 - 1);
  t.equal(store.begin({ ...scope, requestHash: hashB }).kind, 'mismatch');
  clock.advance(1);
  t.same(store.begin({ ...scope, requestHash: hashB }), {
    kind: 'new',
    createdAt: clock.now(),
    lockedAt: clock.now(),
    resumed: false,
  });

  t.test('a per-call TTL overrides the default', async (t) => {
    const other = { ...scope, idempotencyKey: 'short' };
    const short = store.begin({ ...other, requestHash: hashA, ttlMs: 1000 });
    store.complete({ ...other, lockedAt: lockOf(short), status: 201, body: {}, headers: {} });
    clock.advance(1000);
    t.equal(store.begin({ ...other, requestHash: hashB }).kind, 'new');
  });
});

t.test('an in-flight record is not expired while its request may still run', async (t) => {
  const { store, clock } = open(t, undefined, 1000);
  const first = store.begin({ ...scope, requestHash: hashA });
  clock.advance(5000);
  t.same(store.begin({ ...scope, requestHash: hashA }), { kind: 'in-flight' });
  clock.advance(STALE_IN_FLIGHT_MS);
  t.same(
    store.begin({ ...scope, requestHash: hashA }),
    { kind: 'new', createdAt: clock.now(), lockedAt: clock.now(), resumed: false },
    'stale and expired: a fresh record',
  );
  t.not(first.kind === 'new' && first.createdAt, clock.now());
});

t.test('a stale in-flight record is taken over with its original createdAt', async (t) => {
  const { store, clock } = open(t);
  const first = store.begin({ ...scope, requestHash: hashA });
  clock.advance(STALE_IN_FLIGHT_MS - 1);
  t.equal(store.begin({ ...scope, requestHash: hashA }).kind, 'in-flight');
  clock.advance(1);
  const taken = store.begin({ ...scope, requestHash: hashA });
  t.same(taken, {
    kind: 'new',
    createdAt: first.kind === 'new' ? first.createdAt : -1,
    lockedAt: clock.now(),
    resumed: true,
  });
  t.equal(
    store.begin({ ...scope, requestHash: hashA }).kind,
    'in-flight',
    'the take-over holds the lock anew',
  );
  t.equal(store.begin({ ...scope, requestHash: hashB }).kind, 'mismatch', 'another body is still a mismatch');
});

t.test('a request whose record was taken over no longer touches it', async (t) => {
  const { store, clock } = open(t);
  const first = store.begin({ ...scope, requestHash: hashA });
  clock.advance(STALE_IN_FLIGHT_MS);
  const second = store.begin({ ...scope, requestHash: hashA });
  if (first.kind !== 'new' || second.kind !== 'new') throw new Error('both must begin');
  t.not(second.lockedAt, first.lockedAt);
  // The first request ends late, with an error: its abandon must not free the second's record.
  store.abandon({ ...scope, lockedAt: first.lockedAt });
  t.equal(store.begin({ ...scope, requestHash: hashA }).kind, 'in-flight', 'the second still owns it');
  store.complete({ ...scope, lockedAt: first.lockedAt, status: 500, body: { late: true }, headers: {} });
  store.complete({ ...scope, lockedAt: second.lockedAt, status: 201, body: { id: 'c1' }, headers: {} });
  t.match(
    store.begin({ ...scope, requestHash: hashA }),
    { kind: 'replay', status: 201, body: { id: 'c1' } },
    "the owner's answer is kept, with the ids derived from the original createdAt",
  );
});

t.test('records survive a restart', async (t) => {
  const dir = t.testdir();
  const first = open(t, dir);
  const begun = first.store.begin({ ...scope, requestHash: hashA });
  first.store.complete({ ...scope, lockedAt: lockOf(begun), status: 201, body: { n: 1 }, headers: {} });
  const second = open(t, dir);
  t.match(second.store.begin({ ...scope, requestHash: hashA }), { kind: 'replay', body: { n: 1 } });
});

t.test('purgeExpired deletes expired records and begin runs it now and then', async (t) => {
  const { store, clock } = open(t, undefined, 1000);
  const begun = store.begin({ ...scope, requestHash: hashA });
  store.complete({ ...scope, lockedAt: lockOf(begun), status: 201, body: {}, headers: {} });
  store.begin({ ...scope, idempotencyKey: 'running', requestHash: hashA });
  clock.advance(2000);
  t.equal(store.purgeExpired(), 1, 'the fresh in-flight record stays');
  clock.advance(STALE_IN_FLIGHT_MS);
  t.equal(store.begin({ ...scope, idempotencyKey: 'next', requestHash: hashA }).kind, 'new');
  t.equal(store.purgeExpired(), 0, 'begin purged the stale one already');
});
