/**
 * The adapter, offline: the whole event-store contract over a simulated server (see fixtures/simulated-esdb-client.ts)
 * that has EventStoreDB's quirks, plus what only this adapter does.
 */
import { randomUUID } from 'node:crypto';
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
