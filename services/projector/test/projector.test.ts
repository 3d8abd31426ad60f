import { Writable } from 'node:stream';
import { InMemoryEventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { LedgerQueries, ReadModels, rebuild } from '@ledger/projections';
import { runProjector, startProjector } from '@ledger/projector';
import { pino } from 'pino';
import t from 'tap';
import { claimMade } from './fixtures/claim-made.js';

const silent = pino({ level: 'silent' });

t.test('startProjector catches up on a store that has events, then follows it', async (t) => {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  for (let n = 1; n <= 3; n += 1)
    await store.appendToStream(`claim-${claimMade(n).data.claimId}`, [claimMade(n)]);
  const readModels = ReadModels.open(`${dir}/read.db`);
  const projector = await startProjector({ store, readModels, logger: silent, batchSize: 2 });
  const queries = LedgerQueries.open(`${dir}/read.db`, { runtime: projector.runtime });
  t.teardown(async () => {
    await projector.close();
    queries.close();
    readModels.close();
    await store.close();
  });
  t.ok(await queries.waitForPosition(3, 5000));
  t.match(queries.getActor('zirconium'), { status: 'alleged', attributions: [{ claims: 3 }], position: 3 });
  await store.appendToStream(`claim-${claimMade(4).data.claimId}`, [claimMade(4)]);
  t.ok(await queries.waitForPosition(4, 5000));
  await projector.close();
  t.equal(projector.runtime.running, false);
});

t.test('runProjector: the process alone, on a data dir, with /health and /ready', async (t) => {
  const dir = t.testdir();
  const store = await SqliteEventStore.open({ path: `${dir}/events.db` });
  await store.appendToStream(`claim-${claimMade(1).data.claimId}`, [claimMade(1)]);
  await store.close();

  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const running = await runProjector({ LEDGER_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'info' }, destination);
  t.teardown(() => running.close());
  const queries = LedgerQueries.open(`${dir}/read.db`);
  t.teardown(() => queries.close());
  t.ok(await queries.waitForPosition(1, 5000), 'caught up, seen from another connection');
  t.equal(queries.getActor('zirconium')?.status, 'alleged');

  const health = await fetch(`${running.url}/health`);
  t.equal(health.status, 200);
  t.same(await health.json(), { status: 'ok' });
  t.equal((await fetch(`${running.url}/ready`)).status, 200);
  const metrics = await (await fetch(`${running.url}/metrics`)).text();
  t.match(metrics, /^ledger_projector_lag_events\{service="projector"\} 0$/m, 'caught up: no lag');
  t.match(metrics, /^ledger_projector_batch_events_count\{service="projector"\} [1-9]/m);
  await running.projector.close();
  t.equal((await fetch(`${running.url}/ready`)).status, 503, 'not ready once the runtime stopped');
  await running.close();
  await running.close();
  t.match(logs.join(''), /"service":"projector"/);
});

t.test('a running projector makes `rebuild` of its data dir refuse until it stops', async (t) => {
  const dir = t.testdir();
  const store = await SqliteEventStore.open({ path: `${dir}/events.db` });
  await store.appendToStream(`claim-${claimMade(1).data.claimId}`, [claimMade(1)]);
  const running = await runProjector({ LEDGER_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent' });
  t.teardown(async () => {
    await running.close();
    await store.close();
  });
  const readModels = ReadModels.open(`${dir}/read.db`);
  t.teardown(() => readModels.close());
  await t.rejects(rebuild({ store, readModels, logger: silent }), {
    code: 'projector-running',
    message: /stop the ledger or projector/,
  });
  await running.close();
  t.same(await rebuild({ store, readModels, logger: silent }), { done: 1, total: 1 }, 'once it stopped');
});

t.test('runProjector refuses a bad environment', async (t) => {
  await t.rejects(runProjector({ PORT: 'eighty' }), { name: 'ConfigError', message: /PORT/ });
  await t.rejects(runProjector({ LEDGER_STORE: 'eventstoredb' }), {
    name: 'ConfigError',
    message: /EVENTSTOREDB_URL/,
  });
  await t.rejects(
    runProjector({
      LEDGER_STORE: 'eventstoredb',
      EVENTSTOREDB_URL: 'esdb://127.0.0.1:1?tls=false',
      LEDGER_DATA_DIR: t.testdir(),
      PORT: '0',
    }),
    { code: 'event-store-unavailable', message: /cannot reach EventStoreDB/ },
    'an unreachable EventStoreDB stops the start',
  );
});
