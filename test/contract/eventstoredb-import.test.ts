/**
 * `ledger import`'s core against a real EventStoreDB/KurrentDB server, when `EVENTSTOREDB_URL` names one: a
 * small ledger exported from the embedded store is imported and read back with the same ids, order, types,
 * data and metadata (minus the embedded store's seal); a second run finds it all there and appends nothing.
 * The store lives under a namespace of its own, so the test shares the server with the contract suite (the
 * `ledger` bin itself uses no namespace: it needs a server with no ledger streams at all). Without a server the
 * test is skipped with a printed reason, and under `LEDGER_REQUIRE_ESDB=1` that is a failure.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { eventStoreDbLimits, exportEvents, importIntoStore } from '@ledger/cli';
import { EventStoreDbEventStore } from '@ledger/event-store-eventstoredb';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import t from 'tap';
import { carried, readAll } from './fixtures/transfer-events.js';

const url = process.env.EVENTSTOREDB_URL;

if (url === undefined || url === '') {
  const reason = 'EVENTSTOREDB_URL is not set: no EventStoreDB server to import into';
  if (process.env.LEDGER_REQUIRE_ESDB === '1') t.fail(`LEDGER_REQUIRE_ESDB=1 but ${reason}`);
  else t.test('eventstoredb import', { skip: reason }, async () => {});
} else {
  t.test('an embedded ledger imported into EventStoreDB reads back the same', async (t) => {
    const source = await SqliteEventStore.open({ path: join(t.testdir(), 'events.db') });
    const claims = [randomUUID(), randomUUID(), randomUUID()];
    // Interleaved streams, so the global order is not the order of the streams.
    for (const [n, claimId] of [...claims, claims[0]!, claims[2]!, claims[0]!].entries()) {
      await source.appendToStream(`claim-${claimId}`, [
        {
          id: randomUUID(),
          type: n < 3 ? 'ClaimMade' : 'ClaimDenied',
          data: { claimId, n, text: 'Ünïcödé ✓' },
          metadata: { recordedAt: new Date(Date.UTC(2020, 8, 10, 12, n)).toISOString(), principal: 'admin' },
        },
      ]);
    }
    const original = await readAll(source);
    const chunks: string[] = [];
    await exportEvents(source, (chunk) => void chunks.push(chunk));
    await source.close();
    const lines = async function* () {
      yield* chunks.join('').trimEnd().split('\n');
    };

    const namespace = `import-${randomUUID().slice(0, 8)}-`;
    const open = async () => new EventStoreDbEventStore({ connectionString: url, namespace });
    const checkEvent = await eventStoreDbLimits();
    const result = await importIntoStore(open, lines, { checkEvent });
    t.same(result, { events: original.length, streams: claims.length, alreadyStored: 0 });

    const target = await open();
    t.teardown(() => target.close());
    const copy = await readAll(target);
    t.same(copy.map(carried), original.map(carried), 'ids, order, streams, revisions, types, data, metadata');
    t.ok(
      copy.every((event) => !('integrity' in (event.metadata as object))),
      'no seal in EventStoreDB',
    );

    const again = await importIntoStore(open, lines, { checkEvent });
    t.same(
      again,
      { events: 0, streams: claims.length, alreadyStored: original.length },
      'a re-run appends nothing',
    );
    t.equal((await readAll(target)).length, original.length);
  });
}
