import { InMemoryEventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import {
  LedgerQueries,
  ProjectionRuntime,
  ReadModels,
  type RebuildProgress,
  rebuild,
} from '@ledger/projections';
import t from 'tap';
import {
  claimIds,
  claimInput,
  dumpTables,
  eventually,
  make,
  memoryLogger,
  retract,
  run,
  september2020,
} from './fixtures/ledger.fixtures.js';

t.test('a rebuild from zero produces the read models the live runtime built, table by table', async (t) => {
  const dir = t.testdir();
  const store = await SqliteEventStore.open({ path: `${dir}/events.db` });
  t.teardown(() => store.close());
  await september2020(store);

  const live = ReadModels.open(`${dir}/live.db`);
  // Small batches live, one pass in a rebuild: the result must not depend on how events were batched.
  const runtime = new ProjectionRuntime({
    store,
    readModels: live,
    logger: memoryLogger().logger,
    batchSize: 2,
  });
  runtime.start();
  for (let i = 0; i < 20; i += 1) {
    const claimId = `0174776e-8a00-7000-8000-0000000001${i.toString().padStart(2, '0')}`;
    await run(
      store,
      make(claimId, claimInput({ actor: { name: `Actor ${i % 4}` }, statedAt: '2021-01-01T00:00:00Z' })),
      '2021-01-01T00:00:01.000Z',
    );
    if (i % 5 === 0)
      await run(store, retract(claimId, { statedAt: '2021-02-01T00:00:00Z' }), '2021-02-01T00:00:01.000Z');
  }
  await run(store, retract(claimIds.phosphorus), '2020-10-01T08:00:00.000Z');
  await eventually(() => runtime.position() === 34);
  await runtime.stop();
  live.close();

  const rebuilt = ReadModels.open(`${dir}/rebuilt.db`);
  t.teardown(() => rebuilt.close());
  const progress: RebuildProgress[] = [];
  const { logger, lines } = memoryLogger();
  const result = await rebuild({
    store,
    readModels: rebuilt,
    logger,
    batchSize: 500,
    onProgress: (p) => progress.push(p),
  });
  t.same(result, { done: 34, total: 34 });
  t.same(progress, [
    { done: 0, total: 34 },
    { done: 34, total: 34 },
  ]);
  t.match(
    lines().find((line) => line.msg === 'read models rebuilt'),
    { events: 34, position: 34 },
  );

  const want = dumpTables(`${dir}/live.db`);
  const got = dumpTables(`${dir}/rebuilt.db`);
  for (const table of Object.keys(want)) t.same(got[table], want[table], table);
  t.equal(want.claim_events?.length, 33, 'every claim event, not the other stream');
});

t.test('a rebuild replaces what was there, and the runtime resumes after it', async (t) => {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  t.teardown(() => store.close());
  await september2020(store);
  const readModels = ReadModels.open(`${dir}/read.db`);
  const queries = LedgerQueries.open(`${dir}/read.db`);
  t.teardown(() => {
    queries.close();
    readModels.close();
  });
  const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger, batchSize: 4 });
  runtime.start();
  await eventually(() => runtime.position() === 9);
  const before = dumpTables(`${dir}/read.db`);

  await t.rejects(runtime.rebuild(), { code: 'runtime-running' }, 'stop the runtime first');
  await t.rejects(rebuild({ store, readModels, logger: memoryLogger().logger }), { code: 'runtime-running' });
  await runtime.stop();

  const progress: RebuildProgress[] = [];
  await runtime.rebuild({ batchSize: 4, onProgress: (p) => progress.push(p) });
  t.same(progress, [
    { done: 0, total: 9 },
    { done: 4, total: 9 },
    { done: 8, total: 9 },
    { done: 9, total: 9 },
  ]);
  t.same(dumpTables(`${dir}/read.db`), before, 'the same read models again');
  t.equal(
    queries.getActor('zirconium')?.status,
    'contested',
    'a query connection opened before sees the new tables',
  );

  runtime.start();
  const { position } = await run(
    store,
    make('0174776e-8a00-7000-8000-0000000002aa', claimInput({ actor: { name: 'Sandworm' } })),
    '2021-01-01T00:00:00.000Z',
  );
  t.ok(await queries.waitForPosition(Number(position.commit), 5000));
  await runtime.stop();
  t.equal(queries.getActor('sandworm')?.status, 'alleged');
});

t.test('a rebuild of an empty store empties the read models', async (t) => {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  const readModels = ReadModels.open(`${dir}/read.db`);
  t.teardown(async () => {
    readModels.close();
    await store.close();
  });
  t.same(await rebuild({ store, readModels, logger: memoryLogger().logger }), { done: 0, total: 0 });
  t.equal(readModels.checkpoint(), undefined);
});
