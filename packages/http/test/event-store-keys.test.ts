import { join } from 'node:path';
import { type EventStore, InMemoryEventStore } from '@ledger/event-store';
import {
  API_KEY_INDEX_STREAM,
  API_KEY_STREAM_PREFIX,
  EventStoreKeys,
  evolveApiKey,
  StateStore,
} from '@ledger/http';
import t, { type Test } from 'tap';
import { manualClock, TEST_SCRYPT_COST } from './fixtures/helpers.js';

const ADMIN = 'a-free-form-bootstrap-admin-key-of-40-chars';

/** One node: its own state.db (the bootstrap admin) and the shared event store. */
async function node(t: Test, store: EventStore, clock = manualClock()) {
  const state = StateStore.open(join(t.testdir(), 'state.db'), {
    clock: clock.now,
    scryptCost: TEST_SCRYPT_COST,
  });
  t.teardown(() => state.close());
  await state.keys.ensureBootstrapAdmin({ adminKey: ADMIN, dataDir: t.testdir() });
  const keys = new EventStoreKeys(store, {
    local: state.keys,
    clock: clock.now,
    monotonic: clock.now,
    scryptCost: TEST_SCRYPT_COST,
  });
  return { keys, clock, state };
}

/** The same store with some methods replaced (the others called on the store itself). */
function storeWith(store: EventStore, overrides: Partial<EventStore>): EventStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property in overrides) return overrides[property as keyof EventStore];
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The store, counting the key-stream reads that go through it. */
function countingReads(store: EventStore): { store: EventStore; reads: () => number } {
  let reads = 0;
  const readStream: EventStore['readStream'] = (...args) => {
    reads += 1;
    return store.readStream(...args);
  };
  return { store: storeWith(store, { readStream }), reads: () => reads };
}

t.test('listing reads the index and the key streams, never all of $all', async (t) => {
  const shared = new InMemoryEventStore();
  const a = await node(t, shared);
  const created = await a.keys.create({ name: 'reader', scopes: ['read'] });
  // A create that failed between the index entry and the key's stream: listed nowhere.
  await shared.appendToStream(API_KEY_INDEX_STREAM, [
    { type: 'ApiKeyIndexed', data: { keyId: 'fedcba9876543210' } },
  ]);
  const b = await node(
    t,
    storeWith(shared, {
      readAll: () => {
        throw new Error('list must not read $all');
      },
    }),
  );
  t.same((await b.keys.list()).map((key) => key.keyId).sort(), ['admin', created.keyId].sort());
});

t.test('a failed token is refused again without reading the store or running scrypt', async (t) => {
  const shared = new InMemoryEventStore();
  const a = await node(t, shared);
  const { store, reads } = countingReads(shared);
  const b = await node(t, store);
  const { keyId, key } = await a.keys.create({ name: 'reader', scopes: ['read'] });
  const wrong = `ldg_${keyId}_${'x'.repeat(43)}`;
  t.equal(await b.keys.verify(wrong), undefined);
  t.equal(reads(), 1);
  for (let i = 0; i < 5; i += 1) t.equal(await b.keys.verify(wrong), undefined);
  t.equal(reads(), 1, 'five retries of a wrong secret: no read');
  b.clock.advance(60_000);
  t.equal(await b.keys.verify(wrong), undefined);
  t.equal(reads(), 2, 'remembered for a minute');
  t.ok(await b.keys.verify(key), 'the right secret of the same key still works');

  const unknown = `ldg_0123456789abcdef_${'y'.repeat(43)}`;
  t.equal(await b.keys.verify(unknown), undefined);
  t.equal(await b.keys.verify(unknown), undefined);
  const afterUnknown = reads();
  b.clock.advance(1000);
  t.equal(await b.keys.verify(unknown), undefined);
  t.equal(reads(), afterUnknown + 1, 'an unknown key id is read again after recheckMs only');
});

t.test('a check in flight when this node revokes the key does not cache the key', async (t) => {
  const store = new InMemoryEventStore();
  const a = await node(t, store);
  const { keyId, key } = await a.keys.create({ name: 'reader', scopes: ['read'] });
  const inFlight = a.keys.verify(key);
  t.equal(await a.keys.revoke(keyId), true);
  await inFlight;
  t.equal(await a.keys.verify(key), undefined, 'refused right after the revocation');
});

t.test('concurrent checks of one token read the store once', async (t) => {
  const shared = new InMemoryEventStore();
  const a = await node(t, shared);
  const { store, reads } = countingReads(shared);
  const b = await node(t, store);
  const { keyId, key } = await a.keys.create({ name: 'reader', scopes: ['read'] });
  const results = await Promise.all(Array.from({ length: 32 }, () => b.keys.verify(key)));
  t.equal(reads(), 1, '32 concurrent requests with a key not yet verified here: one check');
  t.ok(results.every((principal) => principal?.keyId === keyId));
});

t.test('the trust window follows the monotonic clock, not the wall clock', async (t) => {
  const store = new InMemoryEventStore();
  const a = await node(t, store);
  const wall = manualClock();
  const state = StateStore.open(join(t.testdir(), 'state.db'), { scryptCost: TEST_SCRYPT_COST });
  t.teardown(() => state.close());
  const elapsed = manualClock();
  const b = new EventStoreKeys(store, {
    local: state.keys,
    clock: wall.now,
    monotonic: elapsed.now,
    scryptCost: TEST_SCRYPT_COST,
  });
  const { keyId, key } = await a.keys.create({ name: 'reader', scopes: ['read'] });
  t.ok(await b.verify(key));
  wall.advance(-3_600_000);
  t.equal(await a.keys.revoke(keyId), true);
  elapsed.advance(1000);
  t.equal(await b.verify(key), undefined, 'a wall clock stepped back an hour does not extend the trust');
});

t.test('a key created through one node authenticates on another that shares only the store', async (t) => {
  const store = new InMemoryEventStore();
  const a = await node(t, store);
  const b = await node(t, store);
  a.clock.advance(1000);
  const created = await a.keys.create({ name: ' reader ', scopes: ['read', 'read'], party: 'microsoft' });
  t.match(created, {
    name: 'reader',
    scopes: ['read'],
    party: 'microsoft',
    createdAt: '2026-11-26T10:00:01.000Z',
  });
  t.same(await b.keys.verify(created.key), {
    keyId: created.keyId,
    name: 'reader',
    scopes: ['read'],
    party: 'microsoft',
  });
  const unbound = await a.keys.create({ name: 'writer', scopes: ['claims:write'] });
  t.notOk('party' in (await b.keys.verify(unbound.key))!);

  t.test('only the hash and salt are stored, never the secret', async (t) => {
    const events = [];
    for await (const event of store.readAll()) events.push(event);
    const text = JSON.stringify(events.map((event) => [event.data, event.metadata]));
    t.notOk(text.includes(created.key.split('_')[2]!));
    t.match(events.slice(0, 2), [
      { streamId: API_KEY_INDEX_STREAM, type: 'ApiKeyIndexed', data: { keyId: created.keyId } },
      { streamId: `${API_KEY_STREAM_PREFIX}${created.keyId}`, type: 'ApiKeyCreated' },
    ]);
  });

  t.test('a wrong secret, an unknown key id or a revoked key get nothing', async (t) => {
    t.equal(await b.keys.verify(`ldg_${created.keyId}_${'x'.repeat(43)}`), undefined);
    t.equal(await b.keys.verify(`ldg_0123456789abcdef_${'x'.repeat(43)}`), undefined);
    t.equal(await b.keys.verify('short'), undefined, 'neither a key nor a free-form admin key');
  });

  t.test('both nodes list the bootstrap admin and the shared keys, oldest first', async (t) => {
    const listed = await b.keys.list();
    t.equal(listed[0]?.keyId, 'admin', 'the bootstrap admin was created first');
    t.same(listed.map((key) => key.keyId).sort(), ['admin', created.keyId, unbound.keyId].sort());
    t.same(listed, await a.keys.list(), 'the same on both nodes');
    t.notOk(JSON.stringify(listed).includes('hash'), 'no hash in the listing');
  });
});

t.test('revocation through one node reaches the others within recheckMs', async (t) => {
  const store = new InMemoryEventStore();
  const a = await node(t, store);
  const b = await node(t, store);
  const { keyId, key } = await a.keys.create({ name: 'reader', scopes: ['read'] });
  t.ok(await a.keys.verify(key));
  t.ok(await b.keys.verify(key), 'b has verified (and cached) the key');
  t.equal(await a.keys.revoke(keyId), true);
  t.equal(await a.keys.verify(key), undefined, 'at once on the node that revoked it');
  b.clock.advance(999);
  t.ok(await b.keys.verify(key), 'b trusts what it verified for up to recheckMs (1 s)');
  b.clock.advance(1);
  t.equal(await b.keys.verify(key), undefined, 'then reads the stream again and sees the revocation');
  t.equal(await b.keys.revoke(keyId), false, 'revoked once');
  t.equal(await b.keys.revoke('0123456789abcdef'), false, 'no such key');
  t.same(
    (await b.keys.list()).map((k) => k.keyId),
    ['admin'],
  );
});

t.test('two nodes revoking the same key at once: one append, both answer', async (t) => {
  const store = new InMemoryEventStore();
  const a = await node(t, store);
  const b = await node(t, store);
  const { keyId } = await a.keys.create({ name: 'reader', scopes: ['read'] });
  const results = await Promise.all([a.keys.revoke(keyId), b.keys.revoke(keyId)]);
  t.same(results.sort(), [false, true]);
  let revocations = 0;
  for await (const event of store.readStream(`${API_KEY_STREAM_PREFIX}${keyId}`))
    if (event.type === 'ApiKeyRevoked') revocations += 1;
  t.equal(revocations, 1);
});

t.test('the bootstrap admin stays in each node’s state.db', async (t) => {
  const store = new InMemoryEventStore();
  const a = await node(t, store);
  t.match(await a.keys.verify(ADMIN), { keyId: 'admin', scopes: ['admin'] });
  t.same([...(await collect(store))], [], 'nothing of the admin key in the event store');
});

t.test('store failures pass through', async (t) => {
  const store = new InMemoryEventStore();
  const a = await node(t, store);
  const { keyId, key } = await a.keys.create({ name: 'reader', scopes: ['read'] });
  const unavailable = () => Object.assign(new Error('unavailable'), { code: 'store-unavailable' });
  const through: EventStore = {
    appendToStream: (name, events, options) => store.appendToStream(name, events, options),
    readStream: (name, options) => store.readStream(name, options),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options) => store.subscribeToAll(options),
    close: () => store.close(),
  };
  const failing: EventStore = {
    ...through,
    readStream: () => ({
      // biome-ignore lint/correctness/useYield: a read that fails before its first event
      async *[Symbol.asyncIterator]() {
        throw unavailable();
      },
    }),
  };
  const keys = new EventStoreKeys(failing, { local: a.state.keys });
  await t.rejects(keys.verify(key), { code: 'store-unavailable' });
  await t.rejects(keys.revoke(keyId), { code: 'store-unavailable' });
  const refusing: EventStore = {
    ...through,
    appendToStream: async () => {
      throw unavailable();
    },
  };
  await t.rejects(new EventStoreKeys(refusing, { local: a.state.keys }).revoke(keyId), {
    code: 'store-unavailable',
  });
});

t.test('the fold ignores what it does not know', async (t) => {
  t.equal(evolveApiKey(undefined, { type: 'ApiKeyRevoked', data: { revokedAt: 'x' } }), undefined);
  t.equal(evolveApiKey(undefined, { type: 'SomethingLater', data: {} }), undefined);
});

t.test('the verified cache is bounded', async (t) => {
  const store = new InMemoryEventStore();
  const a = await node(t, store);
  const keys = new EventStoreKeys(store, {
    local: a.state.keys,
    cacheLimit: 1,
    scryptCost: TEST_SCRYPT_COST,
  });
  const first = await keys.create({ name: 'one', scopes: ['read'] });
  const second = await keys.create({ name: 'two', scopes: ['read'] });
  t.ok(await keys.verify(first.key));
  t.ok(await keys.verify(second.key), 'drops the first to keep the second');
  t.ok(await keys.verify(first.key), 'the first is verified again from its stream');
});

async function collect(store: EventStore) {
  const events = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}
