import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { LedgerQueries } from '@ledger/projections';
import { ProjectorThread } from '@ledger/projector';
import { pino } from 'pino';
import t from 'tap';
import { claimMade } from './fixtures/claim-made.js';

function collectingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info', base: { service: 'ledger' } }, destination) };
}

t.test('the projector thread folds what the store commits and reports it as the runtime does', async (t) => {
  const dir = t.testdir();
  const store = await SqliteEventStore.open({ path: `${dir}/events.db` });
  await store.appendToStream(`claim-${claimMade(1).data.claimId}`, [claimMade(1)]);
  const { lines, logger } = collectingLogger();
  const projector = await ProjectorThread.start({
    config: { store: 'sqlite', dataDir: dir, eventStoreDbUrl: undefined },
    logger: logger.child({ component: 'projector' }),
  });
  const queries = LedgerQueries.open(`${dir}/read.db`, { runtime: projector });
  t.teardown(async () => {
    await projector.close();
    queries.close();
    await store.close();
  });
  const batches: Array<{ position: number; events: number }> = [];
  projector.onProgress((position, batch) => batches.push({ position, events: batch.events }));
  const before = projector.position();

  t.ok(await queries.waitForPosition(1, 10_000), 'caught up with what was there before it started');
  for (let n = 2; n <= 4; n += 1) {
    await store.appendToStream(`claim-${claimMade(n).data.claimId}`, [claimMade(n)]);
    projector.committed();
  }
  t.ok(await queries.waitForPosition(4, 10_000), 'and follows new commits');
  t.equal(projector.position(), 4);
  t.match(queries.getActor('zirconium'), { status: 'alleged', attributions: [{ claims: 4 }] });
  t.equal(batches.at(-1)?.position, 4, 'progress reaches the listeners with each batch');
  t.equal(
    batches.reduce((sum, batch) => sum + batch.events, 0),
    4 - before,
    'each event folded after the listener came is reported once',
  );
  t.match(
    lines.find((line) => line.msg === 'projector started'),
    { level: 30, service: 'ledger', component: 'projector', position: Number },
    "the thread's log lines go through the parent's logger",
  );

  await projector.close();
  t.match(lines.at(-1), { msg: 'projector stopped', component: 'projector', position: 4 });
  projector.committed();
  await projector.close();
  t.pass('close is idempotent and committed() after it is ignored');
});

t.test('a thread that cannot open its stores fails the start with the reason', async (t) => {
  const dir = t.testdir();
  writeFileSync(`${dir}/not-a-dir`, '');
  const { logger } = collectingLogger();
  await t.rejects(
    ProjectorThread.start({
      config: { store: 'sqlite', dataDir: `${dir}/not-a-dir/data`, eventStoreDbUrl: undefined },
      logger,
    }),
    /not-a-dir|ENOTDIR|unable to open|directory does not exist/i,
  );
});

t.test(
  'a thread that dies is started again from the checkpoint; close() also ends one being started',
  async (t) => {
    const threads = await import('node:worker_threads');
    // The real Worker, only remembered as it is made, so that the test can end a thread as a crash would.
    const made: InstanceType<typeof threads.Worker>[] = [];
    class RememberedWorker extends threads.Worker {
      constructor(...args: ConstructorParameters<typeof threads.Worker>) {
        super(...args);
        made.push(this);
      }
    }
    const { ProjectorThread: Observed } = await t.mockImport<typeof import('@ledger/projector')>(
      '@ledger/projector',
      { 'node:worker_threads': { ...threads, Worker: RememberedWorker } },
    );
    const dir = t.testdir();
    const store = await SqliteEventStore.open({ path: `${dir}/events.db` });
    t.teardown(() => store.close());
    await store.appendToStream(`claim-${claimMade(1).data.claimId}`, [claimMade(1)]);
    const { lines, logger } = collectingLogger();
    const config = { store: 'sqlite' as const, dataDir: dir, eventStoreDbUrl: undefined };
    const projector = await Observed.start({ config, logger, restartDelayMs: 10 });
    const queries = LedgerQueries.open(`${dir}/read.db`, { runtime: projector });
    t.teardown(() => queries.close());
    t.ok(await queries.waitForPosition(1, 10_000));

    await made[0]!.terminate();
    for (let tries = 0; tries < 500 && made.length < 2; tries += 1) await sleep(10);
    t.equal(made.length, 2, 'a second thread was started');
    t.match(
      lines.find((line) => line.msg === 'the projector thread ended; starting it again'),
      { level: 50 },
    );
    const starts = () => lines.filter((line) => line.msg === 'projector started').length;
    for (let tries = 0; tries < 500 && starts() < 2; tries += 1) await sleep(10);
    t.equal(starts(), 2, 'and it started its runtime');
    await store.appendToStream(`claim-${claimMade(2).data.claimId}`, [claimMade(2)]);
    projector.committed();
    t.ok(await queries.waitForPosition(2, 10_000), 'the new thread goes on from the checkpoint');
    t.match(queries.getActor('zirconium'), { attributions: [{ claims: 2 }] }, 'each event folded once');

    // End the thread again and close at once: the replacement being started is stopped too.
    await made[1]!.terminate();
    for (let tries = 0; tries < 500 && made.length < 3; tries += 1) await sleep(10);
    await projector.close();
    t.ok(
      made.every((worker) => worker.threadId === -1),
      'no thread outlives close()',
    );
  },
);
