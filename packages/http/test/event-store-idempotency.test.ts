import { InMemoryEventStore } from '@ledger/event-store';
import {
  EventStoreIdempotency,
  evolveIdempotencyRecord,
  idempotencyStream,
  STALE_IN_FLIGHT_MS,
} from '@ledger/http';
import t from 'tap';

const scope = { keyId: 'k1', route: 'POST /v1/claims', idempotencyKey: 'abc' };
const response = { status: 201, body: { claimId: 'c1' }, headers: { location: '/v1/claims/c1' } };

/** Two "nodes": two record stores over one event store, each with its own clock. */
function nodes(ttlMs = 60_000) {
  const store = new InMemoryEventStore();
  let now = 1_700_000_000_000;
  const clock = () => now;
  return {
    store,
    a: new EventStoreIdempotency(store, { clock, ttlMs }),
    b: new EventStoreIdempotency(store, { clock, ttlMs }),
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

t.test('one record per scope, in a stream named by a hash', async (t) => {
  const stream = idempotencyStream(scope);
  t.match(stream, /^idempotency-[0-9a-f]{64}$/);
  t.not(idempotencyStream({ ...scope, route: 'POST /v1/claims/x/denials' }), stream);
  t.not(idempotencyStream({ ...scope, keyId: 'k2' }), stream);
});

t.test('begun on one node, completed, then replayed on the other', async (t) => {
  const { a, b, now } = nodes();
  t.same(await a.begin({ ...scope, requestHash: 'h1' }), {
    kind: 'new',
    createdAt: now(),
    lockedAt: now(),
    resumed: false,
  });
  t.same(await b.begin({ ...scope, requestHash: 'h1' }), { kind: 'in-flight' }, 'in flight for every node');
  await a.complete({ ...scope, lockedAt: now(), ...response });
  t.same(await b.begin({ ...scope, requestHash: 'h1' }), { kind: 'replay', ...response });
  t.same(await b.begin({ ...scope, requestHash: 'h2' }), { kind: 'mismatch' }, 'another body is refused');
  await b.complete({ ...scope, lockedAt: now(), ...response, status: 500 });
  t.same(await a.begin({ ...scope, requestHash: 'h1' }), { kind: 'replay', ...response }, 'completed once');
});

t.test('concurrent begins on two nodes: exactly one claims the key', async (t) => {
  const { a, b } = nodes();
  for (let i = 0; i < 20; i += 1) {
    const key = { ...scope, idempotencyKey: `race-${i}`, requestHash: 'h' };
    const results = await Promise.all([a.begin(key), b.begin(key), a.begin(key), b.begin(key)]);
    t.equal(results.filter((r) => r.kind === 'new').length, 1, `race ${i}: one new`);
    t.equal(results.filter((r) => r.kind === 'in-flight').length, 3, `race ${i}: the others in flight`);
  }
});

t.test('an abandoned request frees the key', async (t) => {
  const { a, b, now } = nodes();
  await a.begin({ ...scope, requestHash: 'h1' });
  await a.abandon({ ...scope, lockedAt: now() });
  t.match(await b.begin({ ...scope, requestHash: 'h2' }), { kind: 'new' }, 'a corrected retry may reuse it');
  await a.abandon({ ...scope, idempotencyKey: 'never-begun', lockedAt: now() });
  t.pass('abandoning an unknown key does nothing');
});

t.test('a stale in-flight record is taken over once, keeping its creation time', async (t) => {
  const { a, b, advance, now } = nodes(10 * STALE_IN_FLIGHT_MS);
  const createdAt = now();
  await a.begin({ ...scope, requestHash: 'h1' });
  advance(STALE_IN_FLIGHT_MS);
  const results = await Promise.all([
    a.begin({ ...scope, requestHash: 'h1' }),
    b.begin({ ...scope, requestHash: 'h1' }),
  ]);
  const taken = results.filter((r) => r.kind === 'new');
  t.same(
    taken,
    [{ kind: 'new', createdAt, lockedAt: now(), resumed: true }],
    'one node resumes it, with the original createdAt',
  );
  t.match(
    results.find((r) => r.kind !== 'new'),
    { kind: 'in-flight' },
  );
  // The first request ends late: neither its abandon nor its answer may touch the new owner's record.
  await a.abandon({ ...scope, lockedAt: createdAt });
  await a.complete({ ...scope, lockedAt: createdAt, status: 500, body: { late: true }, headers: {} });
  t.equal((await b.begin({ ...scope, requestHash: 'h1' })).kind, 'in-flight', 'the new owner still has it');
  await b.complete({ ...scope, lockedAt: now(), status: 201, body: { id: 'c1' }, headers: {} });
  t.match(await a.begin({ ...scope, requestHash: 'h1' }), {
    kind: 'replay',
    status: 201,
    body: { id: 'c1' },
  });
});

t.test('records expire after their TTL', async (t) => {
  const { a, b, advance, now } = nodes(1000);
  await a.begin({ ...scope, requestHash: 'h1' });
  await a.complete({ ...scope, lockedAt: now(), ...response });
  advance(999);
  t.match(await b.begin({ ...scope, requestHash: 'h2' }), { kind: 'mismatch' });
  advance(1);
  t.match(await b.begin({ ...scope, requestHash: 'h2' }), { kind: 'new', resumed: false }, 'a new record');
});

t.test('the fold ignores what it does not know', async (t) => {
  const none = { state: 'none' } as const;
  t.same(evolveIdempotencyRecord(none, { type: 'SomethingNewer', data: {} }), none);
  t.same(evolveIdempotencyRecord(none, { type: 'IdempotencyCompleted', data: response }), none);
  t.same(evolveIdempotencyRecord(none, { type: 'IdempotencyTakenOver', data: { lockedAt: 1 } }), none);
  t.same(evolveIdempotencyRecord(none, { type: 'IdempotencyAbandoned', data: {} }), none);
});

t.test('store errors other than conflicts pass through', async (t) => {
  const store = new InMemoryEventStore();
  const records = new EventStoreIdempotency(store);
  await store.close();
  await t.rejects(records.begin({ ...scope, requestHash: 'h' }), { code: 'event-store-closed' });

  const readable = new InMemoryEventStore();
  t.teardown(() => readable.close());
  const failing = Object.create(readable) as InMemoryEventStore;
  failing.appendToStream = async () => {
    throw Object.assign(new Error('unavailable'), { code: 'unavailable' });
  };
  failing.readStream = (name, options) => readable.readStream(name, options);
  await t.rejects(new EventStoreIdempotency(failing).begin({ ...scope, requestHash: 'h' }), {
    code: 'unavailable',
  });
});

t.test('a node that keeps losing the race answers in-flight', async (t) => {
  const store = new InMemoryEventStore();
  t.teardown(() => store.close());
  const a = new EventStoreIdempotency(store, { maxRetries: 0 });
  const b = new EventStoreIdempotency(store, { maxRetries: 0 });
  const key = { ...scope, requestHash: 'h' };
  const results = await Promise.all([a.begin(key), b.begin(key)]);
  t.same(results.map((r) => r.kind).sort(), ['in-flight', 'new']);
});
