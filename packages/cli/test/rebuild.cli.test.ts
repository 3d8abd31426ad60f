import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { LedgerQueries } from '@ledger/projections';
import t from 'tap';
import { ledger } from './fixtures/ledger-bin.js';

async function dataDirWith(dir: string, events: number): Promise<void> {
  const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
  for (let i = 1; i <= events; i += 1) {
    await store.appendToStream(`claim-${i}`, [{ type: 'Noted', data: { n: i } }]);
  }
  await store.close();
}

function checkpointOf(dir: string): number {
  const queries = LedgerQueries.open(join(dir, 'read.db'));
  try {
    return queries.checkpoint();
  } finally {
    queries.close();
  }
}

t.test('rebuilds from the embedded store of the data dir', async (t) => {
  const dir = t.testdir();
  await dataDirWith(dir, 3);
  const ran = await ledger(['rebuild', '--data-dir', dir]);
  t.equal(ran.code, 0, ran.stderr);
  t.match(ran.stdout, /up to position 3/);
  t.equal(checkpointOf(dir), 3);
});

t.test('a data dir without an event store: exit 2, and no empty store is created', async (t) => {
  const dir = t.testdir();
  const ran = await ledger(['rebuild', '--data-dir', dir]);
  t.equal(ran.code, 2);
  t.match(ran.stderr, /no event store at .*events\.db/);
  t.notOk(existsSync(join(dir, 'events.db')), 'events.db was not created');
  t.notOk(existsSync(join(dir, 'read.db')), 'nor read.db');
});

t.test(
  'LEDGER_STORE=eventstoredb: replays EventStoreDB, never the events.db left in the data dir',
  async (t) => {
    const dir = t.testdir();
    // A data dir migrated to EventStoreDB still holding its old embedded log and read models folded from it.
    await dataDirWith(dir, 4);
    t.equal((await ledger(['rebuild', '--data-dir', dir])).code, 0);
    // Nothing listens on port 1: the rebuild must fail on EventStoreDB rather than fold the old file.
    const ran = await ledger(['rebuild', '--data-dir', dir], {
      LEDGER_STORE: 'eventstoredb',
      EVENTSTOREDB_URL: 'esdb://127.0.0.1:1?tls=false',
    });
    t.equal(ran.code, 1, ran.stdout);
    t.match(ran.stderr, /cannot reach EventStoreDB at esdb:\/\/127\.0\.0\.1:1/);
    t.equal(checkpointOf(dir), 4, 'the read models are left as they were');
  },
);
