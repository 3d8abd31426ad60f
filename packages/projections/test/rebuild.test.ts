import { type EventStore, InMemoryEventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import {
  LEASE_TIMEOUT_MS,
  LedgerQueries,
  ProjectionRuntime,
  ReadModels,
  type RebuildProgress,
  rebuild,
} from '@ledger/projections';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
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
  twentyClaimsOverFourActors,
} from './fixtures/ledger.fixtures.js';

/**
 * The September 2020 ledger with twenty more claims and a retraction (34 events), folded live into
 * `<dir>/live.db` by a runtime in batches of `batchSize`: what every rebuild must reproduce.
 */
async function ledgerFoldedLive(t: Test, batchSize: number, claimsPrefix: string) {
  const dir = t.testdir();
  const store = await SqliteEventStore.open({ path: `${dir}/events.db` });
  t.teardown(() => store.close());
  await september2020(store);
  const live = ReadModels.open(`${dir}/live.db`);
  const runtime = new ProjectionRuntime({
    store,
    readModels: live,
    logger: memoryLogger().logger,
    batchSize,
  });
  runtime.start();
  await twentyClaimsOverFourActors(store, claimsPrefix);
  await run(store, retract(claimIds.phosphorus), '2020-10-01T08:00:00.000Z');
  await eventually(() => runtime.position() === 34);
  await runtime.stop();
  live.close();
  return { dir, store };
}

/** `store`, with `after(reads)` run after each event its `readAll` yields (to fail or pause a rebuild midway). */
function afterEachRead(store: EventStore, after: (reads: number) => void | Promise<void>): EventStore {
  return {
    appendToStream: (...args) => store.appendToStream(...args),
    readStream: (...args) => store.readStream(...args),
    subscribeToAll: (...args) => store.subscribeToAll(...args),
    close: () => store.close(),
    async *readAll(options) {
      let reads = 0;
      for await (const event of store.readAll(options)) {
        yield event;
        reads += 1;
        await after(reads);
      }
    },
  };
}

/** The September 2020 ledger in memory, and `<dir>/read.db` open beside it, not yet built. */
async function septemberLedger(t: Test) {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  t.teardown(() => store.close());
  await september2020(store);
  const readModels = ReadModels.open(`${dir}/read.db`);
  t.teardown(() => readModels.close());
  return { dir, store, readModels };
}

/** The September 2020 ledger in memory, rebuilt into `<dir>/read.db`; `before` is that file's tables. */
async function septemberRebuilt(t: Test) {
  const { dir, store, readModels } = await septemberLedger(t);
  await rebuild({ store, readModels, logger: memoryLogger().logger });
  return { dir, store, readModels, before: dumpTables(`${dir}/read.db`) };
}

t.test('a rebuild from zero produces the read models the live runtime built, table by table', async (t) => {
  // Small batches live, one pass in a rebuild: the result must not depend on how events were batched.
  const { dir, store } = await ledgerFoldedLive(t, 2, '01');

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

t.test(
  'a rebuild in small chunks, writing held-back actors early, builds what the live runtime built',
  async (t) => {
    const { dir, store } = await ledgerFoldedLive(t, 500, '02');

    // Chunks of 3 events and at most 2 actors held back: actors are written, read back and written again
    // across chunks inside the rebuild's one transaction.
    for (const [batchSize, pendingActors] of [
      [3, 2],
      [1, 1],
      [7, 1000],
    ] as const) {
      const path = `${dir}/rebuilt-${batchSize}-${pendingActors}.db`;
      const rebuilt = ReadModels.open(path);
      t.same(
        await rebuild({
          store,
          readModels: rebuilt,
          logger: memoryLogger().logger,
          batchSize,
          pendingActors,
        }),
        {
          done: 34,
          total: 34,
        },
      );
      rebuilt.close();
      t.same(
        dumpTables(path),
        dumpTables(`${dir}/live.db`),
        `chunks of ${batchSize}, ${pendingActors} actors held`,
      );
    }
  },
);

t.test('a rebuild that fails leaves the read models as they were', async (t) => {
  const { store, readModels, dir, before } = await septemberRebuilt(t);
  const failing = afterEachRead(store, (reads) => {
    if (reads === 5) throw new Error('the store went away');
  });
  await t.rejects(rebuild({ store: failing, readModels, logger: memoryLogger().logger, batchSize: 2 }), {
    message: 'the store went away',
  });
  t.same(dumpTables(`${dir}/read.db`), before, 'the old read models, checkpoint included');
  t.same(await rebuild({ store, readModels, logger: memoryLogger().logger }), { done: 9, total: 9 });
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

t.test('beside a projector that holds a lease on read.db', async (t) => {
  /** A runtime folding into `path` on its own connection, as a projector process would. */
  const projector = async (t: Test, store: EventStore, path: string, position: number) => {
    const readModels = ReadModels.open(path);
    const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
    t.teardown(async () => {
      await runtime.stop();
      readModels.close();
    });
    runtime.start();
    await eventually(() => runtime.position() === position);
    return runtime;
  };

  t.test('a rebuild refuses with projector-running and changes nothing', async (t) => {
    const dir = t.testdir();
    const path = `${dir}/read.db`;
    const store = new InMemoryEventStore();
    t.teardown(() => store.close());
    await september2020(store);
    const runtime = await projector(t, store, path, 9);
    const readModels = ReadModels.open(path);
    t.teardown(() => readModels.close());
    const before = dumpTables(path);

    await t.rejects(rebuild({ store, readModels, logger: memoryLogger().logger }), {
      name: 'ProjectionError',
      code: 'projector-running',
      message: new RegExp(`pid ${process.pid}, seen \\d+ ms ago.*stop the ledger or projector`),
      details: { leases: [{ pid: process.pid }] },
    });
    t.same(dumpTables(path), before, 'nothing dropped');

    await runtime.stop();
    t.same(readModels.leases(), [], 'the lease is gone once the projector stopped');
    t.same(await rebuild({ store, readModels, logger: memoryLogger().logger }), { done: 9, total: 9 });
    t.same(dumpTables(path), before);
  });

  t.test('a lease whose heartbeat is older than LEASE_TIMEOUT_MS is a dead projector: ignored', async (t) => {
    const { dir, store, readModels } = await septemberLedger(t);
    const db = new Database(`${dir}/read.db`);
    db.prepare('INSERT INTO projector_leases (holder, pid, heartbeat_ms) VALUES (?, ?, ?)').run(
      'crashed',
      4242,
      Date.now() - LEASE_TIMEOUT_MS - 1000,
    );
    db.close();
    t.same(await rebuild({ store, readModels, logger: memoryLogger().logger }), { done: 9, total: 9 });
    t.match(readModels.leases(), [{ holder: 'crashed', pid: 4242 }], 'a rebuild leaves the leases alone');
  });

  // The rebuild's reading pauses after the event `pauseAfter` until the projector folded a new event: the
  // projector then finds the checkpoint moved back (to the rebuild's, not its 9), the rebuild then finds it
  // moved on (10), in a full batch or in its last one.
  const cases = [
    {
      pauseAfter: 5,
      progress: [
        { done: 0, total: 9 },
        { done: 4, total: 9 },
        { done: 10, total: 10 },
      ],
      expected: 4,
    },
    {
      pauseAfter: 9,
      progress: [
        { done: 0, total: 9 },
        { done: 4, total: 9 },
        { done: 8, total: 9 },
        { done: 10, total: 10 },
      ],
      expected: 8,
    },
  ];
  for (const { pauseAfter, progress: want, expected } of cases)
    t.test(
      `force: a rebuild beside a live projector (pause after event ${pauseAfter}): both fold each event once`,
      async (t) => {
        const dir = t.testdir();
        const path = `${dir}/read.db`;
        const store = new InMemoryEventStore();
        t.teardown(() => store.close());
        await september2020(store);
        const runtime = await projector(t, store, path, 9);

        let reads = 0;
        let pause: (() => Promise<void>) | undefined = async () => {
          await run(store, retract(claimIds.phosphorus), '2020-10-01T08:00:00.000Z');
          await eventually(() => runtime.position() === 10);
        };
        const gated: EventStore = {
          appendToStream: (...args) => store.appendToStream(...args),
          readStream: (...args) => store.readStream(...args),
          subscribeToAll: (...args) => store.subscribeToAll(...args),
          close: () => store.close(),
          async *readAll(options) {
            for await (const event of store.readAll(options)) {
              yield event;
              reads += 1;
              if (reads === pauseAfter && pause !== undefined) {
                const waiting = pause;
                pause = undefined;
                await waiting();
              }
            }
          },
        };
        const readModels = ReadModels.open(path);
        t.teardown(() => readModels.close());
        const { logger, lines } = memoryLogger();
        const progress: RebuildProgress[] = [];
        const result = await rebuild({
          store: gated,
          readModels,
          logger,
          batchSize: 4,
          force: true,
          onProgress: (p) => progress.push(p),
        });
        t.same(progress, want);
        t.same(result, { done: 10, total: 10 });
        t.match(
          lines().filter((line) => line.level === 40),
          [{ msg: /checkpoint moved/, expected, stored: 10 }],
        );
        await runtime.stop();
        t.equal(runtime.failures, 0);

        const single = ReadModels.open(`${dir}/single.db`);
        t.teardown(() => single.close());
        await rebuild({ store, readModels: single, logger: memoryLogger().logger });
        t.same(dumpTables(path), dumpTables(`${dir}/single.db`), 'the read models of one fold');
      },
    );
});

t.test(
  'read.db opens while a rebuild holds its write lock, and shows the old read models until the commit',
  async (t) => {
    const { store, readModels, dir, before } = await septemberRebuilt(t);
    let resume: () => void = () => undefined;
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    let paused: () => void = () => undefined;
    const pausing = new Promise<void>((resolve) => {
      paused = resolve;
    });
    const pausingStore = afterEachRead(store, async (reads) => {
      if (reads === 5) {
        paused();
        await resumed;
      }
    });
    const { logger, lines } = memoryLogger();
    const rebuilding = rebuild({ store: pausingStore, readModels, logger, batchSize: 2 });
    await pausing;
    // Both need no migration, so neither waits for the write lock the rebuild holds.
    const queries = LedgerQueries.open(`${dir}/read.db`);
    t.teardown(() => queries.close());
    const another = ReadModels.open(`${dir}/read.db`);
    another.close();
    t.same(dumpTables(`${dir}/read.db`), before, 'a reader opened meanwhile sees the old read models');
    // The reader keeps its snapshot while the rebuild commits, so the WAL cannot be truncated at once.
    const reading = queries.getActor('zirconium');
    resume();
    t.same(await rebuilding, { done: 9, total: 9 });
    t.ok(reading, 'the reader answered from the old read models');
    t.same(
      dumpTables(`${dir}/read.db`),
      before,
      'the rebuilt read models equal the old ones, folded from zero',
    );
    t.notOk(
      lines().some((line) => line.level === 40),
      'no warning: a WAL kept by a reader is reported at info, without waiting for it',
    );
  },
);
