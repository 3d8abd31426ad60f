/**
 * The event-store contract against a real EventStoreDB/KurrentDB server, when `EVENTSTOREDB_URL` names one
 * (e.g. `esdb://127.0.0.1:2113?tls=false`; docker-compose.yml starts one). Without it the suite is skipped
 * with a printed reason, unless `LEDGER_REQUIRE_ESDB=1`, which turns the missing server into a failure (CI
 * jobs that provide a server set it). Each store lives under a namespace of its own, so the tests share the
 * server without seeing each other's events; the server must accept appends of 2 MiB
 * (`EVENTSTORE_MAX_APPEND_SIZE=2097152`) for the 1 MiB event check.
 */
import { randomUUID } from 'node:crypto';
import { EventStoreDbEventStore } from '@ledger/event-store-eventstoredb';
import t from 'tap';
import { eventStoreContract } from './event-store-contract.js';

const url = process.env.EVENTSTOREDB_URL;

if (url === undefined || url === '') {
  const reason = 'EVENTSTOREDB_URL is not set: no EventStoreDB server to run the contract against';
  if (process.env.LEDGER_REQUIRE_ESDB === '1') t.fail(`LEDGER_REQUIRE_ESDB=1 but ${reason}`);
  else t.test('eventstoredb contract', { skip: reason }, async () => {});
} else {
  eventStoreContract(t, {
    name: 'eventstoredb',
    capabilities: { eventIdsUniqueAcrossStreams: false },
    open: async () => {
      const namespace = `contract-${randomUUID().slice(0, 8)}-`;
      const handles: EventStoreDbEventStore[] = [];
      const open = async () => {
        const store = new EventStoreDbEventStore({ connectionString: url, namespace });
        handles.push(store);
        return store;
      };
      const store = await open();
      return {
        store,
        openAnother: open,
        reopen: async () => {
          await store.close();
          return open();
        },
        dispose: async () => {
          await Promise.all(handles.map((handle) => handle.close()));
        },
      };
    },
  });
}
