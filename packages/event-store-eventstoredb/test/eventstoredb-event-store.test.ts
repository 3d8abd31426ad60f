/**
 * The adapter, offline: the whole event-store contract over a simulated server (see fixtures/simulated-esdb-client.ts)
 * that has EventStoreDB's quirks, plus what only this adapter does.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { WrongExpectedVersionError } from '@eventstore/db-client';
import { EventStoreDbEventStore } from '@ledger/event-store-eventstoredb';
import t from 'tap';
import { collect, eventStoreContract } from '../../../test/contract/event-store-contract.js';
import { SimulatedServer } from './fixtures/simulated-esdb-client.js';

for (const namespace of ['', 'ledger-a-']) {
  eventStoreContract(t, {
    name: `eventstoredb adapter on a simulated server (namespace '${namespace}')`,
    capabilities: { eventIdsUniqueAcrossStreams: false },
    open: async () => {
      const server = new SimulatedServer();
      const handles: EventStoreDbEventStore[] = [];
      const open = async () => {
        const store = new EventStoreDbEventStore({ client: server.client(), namespace });
        handles.push(store);
        return store;
      };
      const store = await open();
      return {
        store,
        openAnother: open,
        dispose: async () => {
          await Promise.all(handles.map((handle) => handle.close()));
        },
      };
    },
  });
}

t.test('stores under different namespaces on one server do not see each other', async (t) => {
  const server = new SimulatedServer();
  const a = new EventStoreDbEventStore({ client: server.client(), namespace: 'a-' });
  const b = new EventStoreDbEventStore({ client: server.client(), namespace: 'b-' });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  await a.appendToStream('claim-1', [{ id: randomUUID(), type: 'ClaimMade', data: {} }]);
  await b.appendToStream('claim-1', [{ id: randomUUID(), type: 'ClaimMade', data: {} }]);
  t.same(
    (await collect(a.readAll())).map((e) => e.streamId),
    ['claim-1'],
  );
  t.equal(server.log.filter((e) => e.streamId === 'a-claim-1').length, 1, 'stored under the namespace');
  t.equal(
    server.log.filter((e) => e.streamId.startsWith('$')).length,
    1,
    'the server’s own event is never read',
  );
});

t.test('refuses event ids that are not UUIDs', async (t) => {
  const store = new EventStoreDbEventStore({ client: new SimulatedServer().client() });
  t.teardown(() => store.close());
  await t.rejects(store.appendToStream('s', [{ id: 'evt-1', type: 'A', data: {} }]), {
    code: 'invalid-append',
  });
});

t.test('an append acknowledged without a position and no event to take it from is an error', async (t) => {
  const server = new SimulatedServer();
  const client = server.client();
  const store = new EventStoreDbEventStore({
    client: {
      ...client,
      readStream: client.readStream.bind(client),
      readAll: client.readAll.bind(client),
      subscribeToAll: client.subscribeToAll.bind(client),
      dispose: client.dispose.bind(client),
      appendToStream: async () => ({ success: true, nextExpectedRevision: 5n }),
    } as typeof client,
  });
  t.teardown(() => store.close());
  await client.appendToStream('s', [
    { id: randomUUID(), contentType: 'application/json', type: 'A', data: {}, metadata: undefined },
  ]);
  await t.rejects(store.appendToStream('s', [{ type: 'A', data: {} }]), {
    message: /acknowledged an append to s without a position/,
  });
});

t.test('needs a connection string or a client; connecting is lazy', async (t) => {
  t.throws(() => new EventStoreDbEventStore({}), /connectionString or a client/);
  const store = new EventStoreDbEventStore({ connectionString: 'esdb://127.0.0.1:1?tls=false' });
  await store.close();
  await store.close();
  t.pass('closes without ever reaching a server');
});

t.test('every append reaches the server with an explicit expected revision', async (t) => {
  const event = (type = 'A') => ({ id: randomUUID(), type, data: {} });
  const open = (server = new SimulatedServer()) => {
    const store = new EventStoreDbEventStore({ client: server.client(), namespace: 'ns-' });
    t.teardown(() => store.close());
    return { server, store };
  };
  const sent = (server: SimulatedServer) => server.appends.map((a) => a.expectedRevision);

  t.test('any and stream_exists are resolved to the stream’s revision', async (t) => {
    const { server, store } = open();
    await store.appendToStream('s', [event()]);
    await store.appendToStream('s', [{ type: 'A', data: {} }], { expectedRevision: 'any' });
    await store.appendToStream('s', [event(), event()], { expectedRevision: 'stream_exists' });
    await store.appendToStream('s', [event()], { expectedRevision: 3n });
    t.same(sent(server), ['no_stream', 0n, 1n, 3n]);
    t.same(
      server.appends.map((a) => a.streamName),
      ['ns-s', 'ns-s', 'ns-s', 'ns-s'],
    );
  });

  t.test('a retry with any after a lost acknowledgement is a replay, not a second copy', async (t) => {
    const { server, store } = open();
    const lost = [event('A'), event('B')];
    const first = await store.appendToStream('s', lost);
    await store.appendToStream('s', [event('C')]);
    await store.appendToStream('other', [event('D')]);
    // The simulated server never deduplicates an `any` append: only the resolved revision makes this a replay.
    const again = await store.appendToStream('s', lost, { expectedRevision: 'any' });
    t.same(again, first, 'the original revision and position');
    t.same(sent(server).slice(-1), ['no_stream'], 'sent with the revision before the first event');
    t.equal(server.streams.get('ns-s')?.length, 3, 'nothing stored twice');
    const exists = await store.appendToStream('s', lost, { expectedRevision: 'stream_exists' });
    t.same(exists, first);
  });

  t.test('a replay found in the middle of the stream', async (t) => {
    const { server, store } = open();
    await store.appendToStream('s', [event()]);
    const lost = [event('B')];
    const first = await store.appendToStream('s', lost);
    await store.appendToStream('s', [event()]);
    t.same(await store.appendToStream('s', lost), first);
    t.same(sent(server).slice(-1), [0n]);
  });

  t.test('a partial overlap with an earlier append is refused as a duplicate id', async (t) => {
    const { server, store } = open();
    const a = event('A');
    const b = event('B');
    await store.appendToStream('s', [a, b]);
    await t.rejects(store.appendToStream('s', [b, event('C')]), {
      code: 'duplicate-event-id',
      eventId: b.id,
    });
    await t.rejects(store.appendToStream('s', [a, event('C')]), { code: 'duplicate-event-id' });
    t.equal(server.streams.get('ns-s')?.length, 2, 'nothing stored');
  });

  t.test('stream_exists on a missing stream fails without asking the server to append', async (t) => {
    const { server, store } = open();
    await t.rejects(store.appendToStream('s', [event()], { expectedRevision: 'stream_exists' }), {
      code: 'wrong-expected-version',
      expectedVersion: 'stream_exists',
      actualVersion: 'no_stream',
    });
    t.same(server.appends, []);
  });

  t.test('a concurrent writer between the resolution and the append: resolved again', async (t) => {
    const { server, store } = open();
    await store.appendToStream('s', [event()]);
    server.failNextAppends.push(
      new WrongExpectedVersionError(undefined, { streamName: 'ns-s', expected: 0n, current: 1n } as never),
    );
    const result = await store.appendToStream('s', [event()]);
    t.equal(result.nextExpectedRevision, 1n);
    t.same(sent(server), ['no_stream', 0n, 0n], 'the second attempt after a fresh read');
  });

  t.test('writers that keep winning: the conflict is reported after ten attempts', async (t) => {
    const { server, store } = open();
    const conflict = () =>
      new WrongExpectedVersionError(undefined, { streamName: 'ns-s', expected: 0n, current: 1n } as never);
    server.failNextAppends.push(...Array.from({ length: 10 }, conflict));
    await t.rejects(store.appendToStream('s', [event()]), {
      code: 'wrong-expected-version',
      expectedVersion: 'any',
    });
    t.equal(server.appends.length, 10);
  });

  t.test('concurrent any appends to one stream through one handle all succeed, in turn', async (t) => {
    const { server, store } = open();
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => store.appendToStream('s', [event()], { expectedRevision: 'any' })),
    );
    t.equal(results.filter((r) => r.status === 'rejected').length, 0, 'no conflict among them');
    t.equal(server.streams.get('ns-s')?.length, 40);
    t.same(sent(server), ['no_stream', ...Array.from({ length: 39 }, (_, i) => BigInt(i))]);
  });

  t.test('a retry whose first event has no id is a duplicate, never a second copy of the rest', async (t) => {
    const { server, store } = open();
    const chosen = event('B');
    await store.appendToStream('s', [event('X')]);
    await store.appendToStream('s', [{ type: 'A', data: {} }, chosen]);
    // The same append again: its first event gets a fresh id, its second is already stored.
    await t.rejects(store.appendToStream('s', [{ type: 'A', data: {} }, chosen]), {
      code: 'duplicate-event-id',
      eventId: chosen.id,
    });
    t.equal(server.streams.get('ns-s')?.length, 3, 'nothing stored twice');
  });

  t.test('an explicit revision that does not hold is not retried', async (t) => {
    const { server, store } = open();
    await store.appendToStream('s', [event(), event()], { expectedRevision: 'no_stream' });
    await t.rejects(store.appendToStream('s', [event()], { expectedRevision: 0n }), {
      code: 'wrong-expected-version',
      expectedVersion: 0n,
      actualVersion: 1n,
    });
    t.equal(server.appends.length, 2);
  });

  t.test('other failures of a resolved append are not retried', async (t) => {
    const { server, store } = open();
    server.failNextAppends.push(Object.assign(new Error('connect ECONNREFUSED'), { type: 'unavailable' }));
    await t.rejects(store.appendToStream('s', [event()]), { code: 'store-unavailable' });
    t.equal(server.appends.length, 1);
  });

  t.test('a failing read while resolving fails the append', async (t) => {
    const server = new SimulatedServer();
    const client = server.client();
    const store = new EventStoreDbEventStore({
      client: {
        ...client,
        readStream: () =>
          Readable.from(
            (async function* () {
              yield* [];
              throw Object.assign(new Error('deadline'), { type: 'deadline-exceeded' });
            })(),
          ),
        appendToStream: client.appendToStream.bind(client),
        dispose: client.dispose.bind(client),
      } as unknown as typeof client,
    });
    t.teardown(() => store.close());
    await t.rejects(store.appendToStream('s', [event()]), { code: 'store-unavailable' });
    t.same(server.appends, []);
  });
});

t.test('revisions and positions beyond 2^53 stay exact through every operation', async (t) => {
  const base = 2n ** 62n + 1n;
  const server = new SimulatedServer({ firstOffset: base });
  const store = new EventStoreDbEventStore({ client: server.client() });
  t.teardown(() => store.close());
  const appended = await store.appendToStream('s', [{ id: randomUUID(), type: 'A', data: {} }]);
  const stored = server.log.at(-1)!.position;
  t.ok(stored.commit > BigInt(Number.MAX_SAFE_INTEGER), 'the simulated offset is beyond 2^53');
  t.same(appended.position, stored, 'append');
  t.equal(typeof appended.position.commit, 'bigint');
  const [read] = await collect(store.readStream('s'));
  t.same(read!.position, stored, 'readStream');
  const [fromAll] = await collect(store.readAll({ fromPosition: stored }));
  t.same(fromAll!.position, stored, 'readAll from that exact position');
  const subscription = store.subscribeToAll({ fromPosition: { commit: base, prepare: base } });
  for await (const event of subscription) {
    t.same(event.position, stored, 'subscribeToAll');
    t.equal(event.revision, 0n);
    break;
  }
});
