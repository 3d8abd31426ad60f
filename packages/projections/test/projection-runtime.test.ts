import { statSync } from 'node:fs';
import type { EventStore, RecordedEvent, SubscribeToAllOptions, Subscription } from '@ledger/event-store';
import { InMemoryEventStore } from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import {
  LEASE_TIMEOUT_MS,
  LedgerQueries,
  ProjectionRuntime,
  READ_MODEL_TABLES,
  ReadModels,
} from '@ledger/projections';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import {
  claimIds,
  claimInput,
  confirm,
  deny,
  dumpTables,
  eventually,
  make,
  memoryLogger,
  retract,
  run,
  september2020,
  twentyClaimsOverFourActors,
} from './fixtures/ledger.fixtures.js';

/** A runtime (not started) on an in-memory store and a fresh read.db, closed at the end of the test. */
function runtimeOnMemoryStore(t: Test) {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  const readModels = ReadModels.open(`${dir}/read.db`);
  const { logger, lines } = memoryLogger();
  const runtime = new ProjectionRuntime({ store, readModels, logger });
  t.teardown(async () => {
    await runtime.stop();
    readModels.close();
    await store.close();
  });
  return { dir, store, readModels, runtime, lines };
}

const adapters: Record<string, (dir: string) => Promise<EventStore>> = {
  InMemoryEventStore: async () => new InMemoryEventStore(),
  SqliteEventStore: (dir) => SqliteEventStore.open({ path: `${dir}/events.db` }),
};

const count = (path: string, table: string): number => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
};

for (const [adapter, openStore] of Object.entries(adapters)) {
  t.test(`on the ${adapter}`, async (t) => {
    t.test('catches up on history, then folds live events', async (t) => {
      const dir = t.testdir();
      const store = await openStore(dir);
      await september2020(store);
      const readModels = ReadModels.open(`${dir}/read.db`);
      const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
      const queries = LedgerQueries.open(`${dir}/read.db`);
      t.teardown(async () => {
        await runtime.stop();
        queries.close();
        readModels.close();
        await store.close();
      });
      t.equal(runtime.position(), 0);
      t.equal(runtime.running, false);
      runtime.start();
      runtime.start();
      t.equal(runtime.running, true, 'start is idempotent');
      t.ok(await queries.waitForPosition(9, 5000), 'caught up, seen through data_version polling');
      t.equal(runtime.position(), 9);
      t.same(readModels.checkpoint(), { position: 9, prepare: 9n });
      t.equal(
        count(`${dir}/read.db`, 'claim_events'),
        8,
        'one row per claim event, none for the other stream',
      );

      const { position } = await run(
        store,
        make('0174776e-8a00-7000-8000-00000000000a', claimInput({ actor: { name: 'Volt Typhoon' } })),
        '2024-01-01T00:00:00.000Z',
      );
      t.ok(await queries.waitForPosition(Number(position.commit), 5000), 'a live event');
      t.equal(queries.getActor('volt-typhoon')?.status, 'alleged');
      t.equal(queries.checkpoint(), 10);
    });

    t.test('a restart resumes after the checkpoint without duplicates', async (t) => {
      const dir = t.testdir();
      const store = await openStore(dir);
      t.teardown(() => store.close());
      await september2020(store);
      const path = `${dir}/read.db`;
      {
        const readModels = ReadModels.open(path);
        const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
        runtime.start();
        await eventually(() => runtime.position() === 9);
        await runtime.stop();
        await runtime.stop();
        t.equal(runtime.running, false);
        readModels.close();
      }
      const before = dumpTables(path);
      await run(
        store,
        confirm(claimIds.zirconium, { statedAt: '2020-09-12T00:00:00Z' }),
        '2020-09-12T00:00:01.000Z',
      );
      const readModels = ReadModels.open(path);
      const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
      t.teardown(async () => {
        await runtime.stop();
        readModels.close();
      });
      t.equal(runtime.position(), 9, 'reads its checkpoint');
      runtime.start();
      await eventually(() => runtime.position() === 10);
      const after = dumpTables(path);
      t.same(after.claim_events!.slice(0, 8), before.claim_events, 'earlier rows untouched');
      t.equal(after.claim_events!.length, 9, 'only the new event was folded');
      t.match(after.actors, [{}, {}, { actor_id: 'zirconium', position: 10 }]);
    });

    t.test('events of other streams only advance the checkpoint', async (t) => {
      const dir = t.testdir();
      const store = await openStore(dir);
      const readModels = ReadModels.open(`${dir}/read.db`);
      const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
      t.teardown(async () => {
        await runtime.stop();
        readModels.close();
        await store.close();
      });
      runtime.start();
      await store.appendToStream('keys-1', [{ type: 'KeyCreated', data: {} }]);
      await store.appendToStream('keys-1', [{ type: 'KeyRevoked', data: {} }]);
      await eventually(() => runtime.position() === 2);
      t.same(readModels.checkpoint(), { position: 2, prepare: 2n });
      t.equal(count(`${dir}/read.db`, 'claim_events'), 0);
    });
  });
}

t.test('batches: up to batchSize, without waiting to fill one', async (t) => {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  for (let i = 0; i < 7; i += 1) await store.appendToStream(`other-${i}`, [{ type: 'Noise', data: { i } }]);
  const readModels = ReadModels.open(`${dir}/read.db`);
  const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger, batchSize: 3 });
  const commits: number[] = [];
  const off = runtime.onProgress((position) => commits.push(position));
  t.teardown(async () => {
    await runtime.stop();
    readModels.close();
    await store.close();
  });
  runtime.start();
  await eventually(() => runtime.position() === 7);
  t.same(commits, [3, 6, 7], 'three transactions for seven events');
  await store.appendToStream('other-x', [{ type: 'Noise', data: {} }]);
  await eventually(() => runtime.position() === 8);
  t.same(commits, [3, 6, 7, 8], 'a lone live event is not held back');
  off();
  await store.appendToStream('other-y', [{ type: 'Noise', data: {} }]);
  await eventually(() => runtime.position() === 9);
  t.equal(commits.length, 4, 'a removed listener hears nothing');
});

t.test('a batch that fails leaves the old checkpoint and none of its rows, then is retried', async (t) => {
  const dir = t.testdir();
  const path = `${dir}/read.db`;
  const store = new InMemoryEventStore();
  const readModels = ReadModels.open(path);
  const { logger, lines } = memoryLogger();
  const runtime = new ProjectionRuntime({ store, readModels, logger, retryDelayMs: 5 });
  t.teardown(async () => {
    await runtime.stop();
    readModels.close();
    await store.close();
  });
  await run(store, make(claimIds.zirconium), '2020-09-10T16:05:00.000Z');
  runtime.start();
  await eventually(() => runtime.position() === 1);

  // Another connection makes every write of the Strontium actor fail, as a full disk would.
  const saboteur = new Database(path);
  t.teardown(() => saboteur.close());
  saboteur.exec(`CREATE TRIGGER boom BEFORE INSERT ON actors WHEN NEW.actor_id = 'strontium'
    BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
  const strontium = claimInput({
    actor: { name: 'Strontium' },
    attribution: { state: 'RU', relation: 'operating-from' },
  });
  await run(store, make(claimIds.strontium, strontium), '2020-09-10T16:06:00.000Z');
  await run(store, deny(claimIds.zirconium), '2020-09-11T07:30:00.000Z');
  await eventually(() => runtime.failures >= 2);
  t.equal(runtime.position(), 1);
  t.same(readModels.checkpoint(), { position: 1, prepare: 1n }, 'the checkpoint did not move');
  t.equal(count(path, 'claim_events'), 1, 'no row of the failed batch');
  t.equal(count(path, 'claims'), 1);
  t.match(
    lines().find((line) => line.level === 50),
    { msg: /projection failed/, err: { message: 'disk on fire' } },
  );
  t.equal(runtime.running, true, 'still running: it retries');

  saboteur.exec('DROP TRIGGER boom');
  await eventually(() => runtime.position() === 3);
  t.equal(runtime.failures, 0);
  t.equal(count(path, 'claim_events'), 3, 'each event once');
  t.equal(count(path, 'actors'), 2);
});

t.test('stop() during a retry delay ends at once', async (t) => {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  const failing: EventStore = {
    appendToStream: (...args) => store.appendToStream(...args),
    readStream: (...args) => store.readStream(...args),
    readAll: (...args) => store.readAll(...args),
    close: () => store.close(),
    subscribeToAll(_options?: SubscribeToAllOptions): Subscription {
      throw new Error('store unreachable');
    },
  };
  const readModels = ReadModels.open(`${dir}/read.db`);
  const runtime = new ProjectionRuntime({
    store: failing,
    readModels,
    logger: memoryLogger().logger,
    retryDelayMs: 60_000,
  });
  t.teardown(() => readModels.close());
  runtime.start();
  await eventually(() => runtime.failures === 1);
  const started = Date.now();
  await runtime.stop();
  t.ok(Date.now() - started < 1000, 'did not sit out the 60 s delay');
  t.equal(runtime.running, false);
});

t.test('the runtime ends when the store closes', async (t) => {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  const readModels = ReadModels.open(`${dir}/read.db`);
  const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
  t.teardown(() => readModels.close());
  runtime.start();
  await store.appendToStream('other', [{ type: 'Noise', data: {} }]);
  await eventually(() => runtime.position() === 1);
  await store.close();
  await eventually(() => !runtime.running);
  await runtime.stop();
  t.pass('stopped');
});

t.test('events it cannot fold are logged and skipped, never crash the runtime', async (t) => {
  const { dir, store, runtime, lines } = runtimeOnMemoryStore(t);
  const orphan = '0174776e-8a00-7000-8000-0000000000ff';
  await store.appendToStream(`claim-${orphan}`, [
    { type: 'ClaimDenied', data: deny(orphan).data, metadata: { recordedAt: '2020-09-11T07:30:00Z' } },
  ]);
  await store.appendToStream(`claim-${claimIds.zirconium}`, [
    {
      type: 'ClaimMade',
      data: { claimId: claimIds.zirconium },
      metadata: { recordedAt: '2020-09-11T07:30:00Z' },
    },
    { type: 'ClaimAmended', data: {}, metadata: {} },
  ]);
  runtime.start();
  await eventually(() => runtime.position() === 3);
  const warnings = lines().filter((line) => line.level === 40);
  t.match(warnings, [
    { position: 2, reason: 'invalid', detail: /claimant/ },
    { position: 1, reason: 'no ClaimMade recorded for this claim' },
  ]);
  t.equal(warnings.length, 2);
  t.match(
    lines().find((line) => line.level === 20),
    { position: 3, reason: 'unknown-type' },
    'an unknown (newer) event type is left out at debug level',
  );
  t.equal(count(`${dir}/read.db`, 'claim_events'), 0);
});

t.test('read models folded from another log are refused, not followed', async (t) => {
  const dir = t.testdir();
  const readModels = ReadModels.open(`${dir}/read.db`);
  t.teardown(() => readModels.close());
  const newer = new InMemoryEventStore();
  for (let i = 0; i < 4; i += 1) await newer.appendToStream(`other-${i}`, [{ type: 'Noise', data: {} }]);
  const first = new ProjectionRuntime({ store: newer, readModels, logger: memoryLogger().logger });
  first.start();
  await eventually(() => first.position() === 4);
  await first.stop();
  // A store restored from an older copy: two events, then a new claim at a position read.db already passed.
  const older = new InMemoryEventStore();
  await older.appendToStream('other-0', [{ type: 'Noise', data: {} }]);
  await older.appendToStream(`claim-${claimIds.zirconium}`, [
    {
      type: 'ClaimMade',
      data: make(claimIds.zirconium).data,
      metadata: { recordedAt: '2020-09-10T13:00:00Z' },
    },
  ]);
  const { logger, lines } = memoryLogger();
  const runtime = new ProjectionRuntime({ store: older, readModels, logger, retryDelayMs: 10 });
  t.teardown(() => runtime.stop());
  runtime.start();
  await eventually(() => lines().some((line) => line.level === 50));
  t.match(
    lines().find((line) => line.level === 50),
    {
      err: {
        code: 'checkpoint-beyond-store',
        message: /checkpoint 4 is beyond the event store's last position 2/,
      },
      msg: 'projection failed; resubscribing from the checkpoint',
    },
  );
  t.equal(readModels.checkpoint()?.position, 4, 'nothing was folded on top of the other log');
  t.equal(
    count(`${dir}/read.db`, 'claim_events'),
    0,
    'and the claim at a reused position was not skipped silently',
  );
});

t.test(
  'an event written under older input rules is still projected (DESIGN §3: it stays readable)',
  async (t) => {
    const { dir, store, runtime, lines } = runtimeOnMemoryStore(t);
    const claimId = claimIds.zirconium;
    // What a build before today's rules accepted: a name mixing Latin and Cyrillic (the "а"), a summary with a
    // lone surrogate, a member a newer build added, and a state code since withdrawn from ISO 3166 (YU).
    const made = make(claimId).data;
    await store.appendToStream(`claim-${claimId}`, [
      {
        type: 'ClaimMade',
        data: {
          ...made,
          actor: { id: 'fаncy-bear', name: 'Fаncy Bear', aliases: [] },
          attribution: { state: 'YU', relation: 'operating-from' },
          summary: 'Older text \uD800 as it was stored',
          reviewedBy: 'desk-7',
        },
        metadata: { recordedAt: '2020-09-11T07:30:00Z' },
      },
      { type: 'ClaimDenied', data: deny(claimId).data, metadata: { recordedAt: '2020-09-11T08:00:00Z' } },
    ]);
    runtime.start();
    await eventually(() => runtime.position() === 2);
    t.same(
      lines().filter((line) => Number(line.level) >= 40),
      [],
      'nothing is skipped',
    );
    t.equal(count(`${dir}/read.db`, 'claim_events'), 2);
    const queries = LedgerQueries.open(`${dir}/read.db`);
    t.teardown(() => queries.close());
    t.match(queries.getActor('fаncy-bear'), {
      name: 'Fаncy Bear',
      status: 'disputed',
      attributions: [{ state: 'YU', claims: 1, denials: 1 }],
    });
    t.match(queries.getClaim(claimId), {
      reviewedBy: 'desk-7',
      summary: 'Older text \uD800 as it was stored',
    });
  },
);

t.test(
  'a second retraction (the decider never writes one) leaves the actor as the first left it',
  async (t) => {
    const { dir, store, runtime } = runtimeOnMemoryStore(t);
    await run(store, make(claimIds.zirconium), '2020-09-10T16:05:00Z');
    await run(store, retract(claimIds.zirconium), '2020-10-01T08:00:00Z');
    runtime.start();
    await eventually(() => runtime.position() === 2);
    const actor = () => LedgerQueries.open(`${dir}/read.db`);
    const before = actor();
    const summary = before.getActor('zirconium');
    before.close();
    await store.appendToStream(`claim-${claimIds.zirconium}`, [
      {
        type: 'ClaimRetracted',
        data: retract(claimIds.zirconium, { reason: 'Again.', statedAt: '2021-01-01T00:00:00Z' }).data,
        metadata: { recordedAt: '2021-01-01T00:00:00Z' },
      },
    ]);
    await eventually(() => runtime.position() === 3);
    const after = actor();
    t.same(after.getActor('zirconium'), summary, 'same status, counts, position and lastStatedAt');
    after.close();
    t.equal(count(`${dir}/read.db`, 'claim_events'), 3, 'the audit trail still records it');
  },
);

t.test('a second ClaimMade of a claim (the decider never writes one) is left out everywhere', async (t) => {
  const { dir, store, runtime, lines } = runtimeOnMemoryStore(t);
  await run(store, make(claimIds.zirconium), '2020-09-10T16:05:00Z');
  let made: RecordedEvent | undefined;
  for await (const event of store.readAll()) made = event;
  // The same claim made again, naming another actor.
  const data = made!.data as { actor: { id: string; name: string } };
  await store.appendToStream(`claim-${claimIds.zirconium}`, [
    {
      type: 'ClaimMade',
      data: { ...data, actor: { ...data.actor, id: 'strontium', name: 'Strontium' } },
      metadata: { recordedAt: '2020-09-12T00:00:00Z' },
    },
  ]);
  runtime.start();
  await eventually(() => runtime.position() === 2);
  const queries = LedgerQueries.open(`${dir}/read.db`);
  t.teardown(() => queries.close());
  t.equal(queries.getActor('strontium'), undefined, 'not in the current read models');
  t.equal(queries.getActor('strontium', { asOf: '9999-12-31T00:00:00Z' }), undefined, 'nor in the past');
  t.equal(queries.getActor('zirconium')?.position, 1, 'the claim stays what its first ClaimMade made it');
  t.match(
    lines().filter((line) => line.level === 40),
    [{ position: 2, reason: 'a second ClaimMade for this claim' }],
  );
});

t.test('backgroundCheckpoints: a thread, not the batches, copies the WAL back into read.db', async (t) => {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  await september2020(store);
  const background = ReadModels.open(`${dir}/background.db`, { backgroundCheckpoints: { intervalMs: 10 } });
  const inline = ReadModels.open(`${dir}/inline.db`, { backgroundCheckpoints: false });
  const runtimes = [background, inline].map(
    (readModels) => new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger }),
  );
  t.teardown(async () => {
    for (const runtime of runtimes) await runtime.stop();
    await background.close();
    inline.close();
    await store.close();
  });
  for (const runtime of runtimes) runtime.start();
  await eventually(() => runtimes.every((runtime) => runtime.position() === 9));
  const size = (name: string) => statSync(`${dir}/${name}`).size;
  // A WAL database's file holds only its first page until a checkpoint copies the log back.
  await eventually(() => size('background.db') > size('inline.db'));
  t.equal(size('inline.db'), 4096, 'the batches left their pages in the log');
  t.ok(size('background.db') > 4096, 'the thread copied the tables into read.db');
  t.same(dumpTables(`${dir}/background.db`), dumpTables(`${dir}/inline.db`), 'the same read models');
});

t.test('a second runtime on the same read models is refused', async (t) => {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  const readModels = ReadModels.open(`${dir}/read.db`);
  const one = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
  const two = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
  t.teardown(async () => {
    await one.stop();
    readModels.close();
    await store.close();
  });
  one.start();
  t.throws(() => two.start(), { code: 'runtime-running' });
  await two.stop();
});

t.test('a closed ReadModels refuses work', async (t) => {
  const dir = t.testdir();
  const readModels = ReadModels.open(`${dir}/read.db`);
  readModels.close();
  readModels.close();
  t.throws(() => readModels.checkpoint(), { code: 'read-models-closed' });
});

t.test('a subscription that ends mid-batch commits what it delivered', async (t) => {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  await store.appendToStream('other-1', [{ type: 'Noise', data: {} }]);
  await store.appendToStream('other-2', [{ type: 'Noise', data: {} }]);
  const history: RecordedEvent[] = [];
  for await (const event of store.readAll()) history.push(event);
  const finite: EventStore = {
    appendToStream: (...args) => store.appendToStream(...args),
    readStream: (...args) => store.readStream(...args),
    readAll: (...args) => store.readAll(...args),
    close: () => store.close(),
    subscribeToAll(): Subscription {
      async function* events() {
        yield* history;
      }
      return { [Symbol.asyncIterator]: events, unsubscribe: async () => {} };
    },
  };
  const readModels = ReadModels.open(`${dir}/read.db`);
  const { logger, lines } = memoryLogger();
  const runtime = new ProjectionRuntime({ store: finite, readModels, logger });
  runtime.onProgress(() => {
    throw new Error('a listener that throws');
  });
  t.teardown(async () => {
    readModels.close();
    await store.close();
  });
  runtime.start();
  await eventually(() => !runtime.running);
  t.same(readModels.checkpoint(), { position: 2, prepare: 2n });
  t.match(
    lines().find((line) => line.level === 50),
    { msg: 'progress listener failed', err: { message: 'a listener that throws' } },
    'a failing listener is logged, the runtime goes on',
  );
  await runtime.stop();
});

t.test('a read.db from a newer build is refused, not touched', async (t) => {
  const dir = t.testdir();
  const db = new Database(`${dir}/read.db`);
  db.pragma('user_version = 99');
  db.close();
  t.throws(() => ReadModels.open(`${dir}/read.db`), /schema version 99 is newer/);
  t.throws(() => LedgerQueries.open(`${dir}/read.db`), /newer than this build/);
});

t.test('a read.db from before the actor folds is emptied and folded again from zero', async (t) => {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  await september2020(store);
  const fold = async (path: string) => {
    const readModels = ReadModels.open(path);
    const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
    runtime.start();
    await eventually(() => runtime.position() === 9);
    await runtime.stop();
    readModels.close();
  };
  await fold(`${dir}/old.db`);
  // What a file of schema version 2 looked like: the same read models, without the fold tables.
  const old = new Database(`${dir}/old.db`);
  old.exec('DROP TABLE actor_folds; DROP TABLE actor_claims');
  old.pragma('user_version = 2');
  // A projector of the old build still folding into the file: the migration waits for it to stop.
  const lease = old.prepare('INSERT INTO projector_leases (holder, pid, heartbeat_ms) VALUES (?, ?, ?)');
  lease.run('old-build', 4242, Date.now());
  t.throws(() => ReadModels.open(`${dir}/old.db`), /a projector is folding into it \(pid 4242/);
  t.throws(() => LedgerQueries.open(`${dir}/old.db`), /stop every ledger or projector/, 'whoever opens it');
  t.equal(old.pragma('user_version', { simple: true }), 2, 'and the file is left as it was');
  // Once its heartbeat is older than LEASE_TIMEOUT_MS, it is a dead projector.
  old.prepare('UPDATE projector_leases SET heartbeat_ms = ?').run(Date.now() - LEASE_TIMEOUT_MS - 1000);
  old.close();

  const upgraded = ReadModels.open(`${dir}/old.db`);
  t.equal(upgraded.checkpoint(), undefined, 'the checkpoint is gone, so the projector starts from zero');
  upgraded.close();
  t.equal(count(`${dir}/old.db`, 'actors'), 0, 'and the rows it would fold again are gone with it');
  await fold(`${dir}/old.db`);
  await fold(`${dir}/fresh.db`);
  t.same(dumpTables(`${dir}/old.db`), dumpTables(`${dir}/fresh.db`), 'then it equals a fresh fold');
});

t.test('when someone else moves the checkpoint', async (t) => {
  /** 20 claims over four actors, 4 of them retracted: 24 events. */
  const moreHistory = (store: EventStore) => twentyClaimsOverFourActors(store, '03');
  const singleFold = async (store: EventStore, path: string, position: number) => {
    const readModels = ReadModels.open(path);
    const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
    runtime.start();
    await eventually(() => runtime.position() === position);
    await runtime.stop();
    readModels.close();
    return dumpTables(path);
  };

  t.test('two runtimes on one read.db fold each batch exactly once, as one runtime would', async (t) => {
    const dir = t.testdir();
    const path = `${dir}/read.db`;
    const store = await SqliteEventStore.open({ path: `${dir}/events.db` });
    // Two connections to one file, as two projector processes on one data dir would have.
    const one = ReadModels.open(path);
    const two = ReadModels.open(path);
    const logs = [memoryLogger(), memoryLogger()];
    const runtimes = [
      new ProjectionRuntime({ store, readModels: one, logger: logs[0]!.logger, batchSize: 2 }),
      new ProjectionRuntime({ store, readModels: two, logger: logs[1]!.logger, batchSize: 3 }),
    ];
    t.teardown(async () => {
      for (const runtime of runtimes) await runtime.stop();
      one.close();
      two.close();
      await store.close();
    });
    for (const runtime of runtimes) runtime.start();
    await september2020(store);
    await moreHistory(store);
    await eventually(() => one.checkpoint()?.position === 33);
    for (const runtime of runtimes) await runtime.stop();

    const lines = logs.flatMap((log) => log.lines());
    t.same(
      lines.filter((line) => (line.level as number) >= 50),
      [],
      'no failed batch (no UNIQUE constraint failure), no error loop',
    );
    t.same(
      runtimes.map((runtime) => runtime.failures),
      [0, 0],
    );
    t.ok(
      lines.some((line) => /checkpoint moved/.test(String(line.msg))),
      'a batch found the checkpoint moved by the other and was dropped',
    );
    const want = await singleFold(store, `${dir}/single.db`, 33);
    const got = dumpTables(path);
    for (const table of Object.keys(want)) t.same(got[table], want[table], table);
  });

  t.test(
    'a reset under a running runtime (a rebuild dropped the tables): it folds again from zero',
    async (t) => {
      const { dir, store, readModels, runtime, lines } = runtimeOnMemoryStore(t);
      const path = `${dir}/read.db`;
      await september2020(store);
      runtime.start();
      await eventually(() => runtime.position() === 9);

      const other = new Database(path);
      for (const table of READ_MODEL_TABLES) other.exec(`DELETE FROM ${table}`);
      other.close();
      await run(store, retract(claimIds.phosphorus), '2020-10-01T08:00:00.000Z');
      await eventually(() => readModels.checkpoint()?.position === 10);
      await runtime.stop();

      t.match(
        lines().filter((line) => line.level === 40),
        [{ msg: /checkpoint moved/, expected: 9, stored: 0, first: 10, last: 10 }],
      );
      t.equal(runtime.failures, 0);
      const want = await singleFold(store, `${dir}/single.db`, 10);
      t.same(dumpTables(path), want, 'every event folded again, each once');
    },
  );
});

t.test('a running runtime holds a lease on read.db', async (t) => {
  t.test('written on start, refreshed while it runs, deleted on stop', async (t) => {
    const dir = t.testdir();
    const store = new InMemoryEventStore();
    const readModels = ReadModels.open(`${dir}/read.db`);
    const runtime = new ProjectionRuntime({
      store,
      readModels,
      logger: memoryLogger().logger,
      leaseHeartbeatMs: 10,
    });
    t.teardown(async () => {
      await runtime.stop();
      readModels.close();
      await store.close();
    });
    t.same(readModels.leases(), []);
    const before = Date.now();
    runtime.start();
    const [lease] = readModels.leases();
    t.match(lease, { holder: /^[0-9a-f-]{36}$/, pid: process.pid });
    t.ok(lease!.heartbeatMs >= before);
    await eventually(() => readModels.leases()[0]!.heartbeatMs > lease!.heartbeatMs + 15);
    t.pass('an idle runtime refreshes it on its timer');
    await runtime.stop();
    t.same(readModels.leases(), [], 'released on stop');
  });

  t.test('a lease that cannot be written or deleted is logged, the runtime goes on', async (t) => {
    const dir = t.testdir();
    const store = new InMemoryEventStore();
    const readModels = ReadModels.open(`${dir}/read.db`);
    const { logger, lines } = memoryLogger();
    const runtime = new ProjectionRuntime({ store, readModels, logger, leaseHeartbeatMs: 5 });
    t.teardown(() => store.close());
    runtime.start();
    readModels.close();
    await eventually(() => lines().some((line) => line.msg === 'projector lease not refreshed'));
    await runtime.stop();
    t.match(
      lines().find((line) => line.msg === 'projector lease not released'),
      { level: 40, err: { code: 'read-models-closed' } },
    );
  });
});
