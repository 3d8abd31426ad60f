import { join } from 'node:path';
import { EventStoreUnavailableError, openEventStore } from '@ledger/config';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import t from 'tap';

t.test('sqlite: the embedded store in <dataDir>/events.db', async (t) => {
  const dataDir = t.testdir();
  const store = await openEventStore({ store: 'sqlite', dataDir });
  t.teardown(() => store.close());
  t.ok(store instanceof SqliteEventStore);
  await store.appendToStream('s', [{ type: 'A', data: {} }]);
  const again = await SqliteEventStore.open({ path: join(dataDir, 'events.db') });
  t.teardown(() => again.close());
  let count = 0;
  for await (const _ of again.readAll()) count += 1;
  t.equal(count, 1, 'the same file');
});

t.test(
  'eventstoredb: fails the start when the server does not answer, naming the URL without secrets',
  async (t) => {
    const error = await openEventStore(
      {
        store: 'eventstoredb',
        dataDir: t.testdir(),
        eventStoreDbUrl: 'esdb://admin:changeit@127.0.0.1:1?tls=false',
      },
      { connectTimeoutMs: 5000 },
    ).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    t.ok(error instanceof EventStoreUnavailableError);
    t.match(
      (error as Error).message,
      /cannot reach EventStoreDB at esdb:\/\/\*\*\*@127\.0\.0\.1:1\?tls=false/,
    );
    t.notMatch((error as Error).message, /changeit/);
    await t.rejects(openEventStore({ store: 'eventstoredb', dataDir: t.testdir() }), {
      code: 'event-store-unavailable',
      message: /needs EVENTSTOREDB_URL/,
    });
  },
);
