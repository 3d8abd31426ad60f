import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { LedgerIntegrity } from '@ledger/integrity';
import Database from 'better-sqlite3';
import t from 'tap';
import { describeReport, runVerify } from '../src/verify.command.js';
import { ledger } from './fixtures/ledger-bin.js';

async function dataDirWith(dir: string, events: number): Promise<void> {
  const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
  for (let i = 1; i <= events; i += 1) {
    await store.appendToStream(`claim-${i}`, [{ type: 'ClaimMade', data: { n: i } }]);
  }
  // A signed checkpoint, as GET /v1/integrity leaves one behind.
  await LedgerIntegrity.open({ store, dataDir: dir }).checkpoint();
  await store.close();
}

t.test('an intact log: exit 0 and the report', async (t) => {
  const dir = t.testdir();
  await dataDirWith(dir, 4);
  const ran = await ledger(['verify', '--data-dir', dir]);
  t.equal(ran.code, 0, ran.stderr);
  t.match(JSON.parse(ran.stdout), { ok: true, checkedEvents: 4, checkpoint: { treeSize: 4 } });
  t.match(ran.stderr, /^ok: 4 events intact and chained; checkpoint of 4 events signed/);
});

t.test('LEDGER_DATA_DIR is the default data dir', async (t) => {
  const dir = t.testdir();
  await dataDirWith(dir, 2);
  const ran = await ledger(['verify'], { LEDGER_DATA_DIR: dir });
  t.equal(ran.code, 0, ran.stderr);
  t.match(JSON.parse(ran.stdout), { ok: true, checkedEvents: 2 });
});

t.test('a changed event: exit 1 naming its position', async (t) => {
  const dir = t.testdir();
  await dataDirWith(dir, 5);
  const db = new Database(join(dir, 'events.db'));
  db.prepare(`UPDATE events SET data = '{"n":33}' WHERE position = 3`).run();
  db.close();
  const ran = await ledger(['verify', '--data-dir', dir]);
  t.equal(ran.code, 1);
  t.match(JSON.parse(ran.stdout), {
    ok: false,
    checkedEvents: 2,
    firstBadPosition: 3,
    reason: 'hash-mismatch',
  });
  t.match(ran.stderr, /^TAMPERED at position 3 \(hash-mismatch\)/);
});

t.test('a deleted last event: exit 1, caught by the signed checkpoint', async (t) => {
  const dir = t.testdir();
  await dataDirWith(dir, 5);
  const db = new Database(join(dir, 'events.db'));
  db.prepare('DELETE FROM events WHERE position = 5').run();
  db.close();
  const ran = await ledger(['verify', '--data-dir', dir]);
  t.equal(ran.code, 1);
  t.match(JSON.parse(ran.stdout), { ok: false, firstBadPosition: 5, reason: 'truncated' });
});

t.test('no events.db: exit 2, and none is created', async (t) => {
  const dir = t.testdir();
  const ran = await ledger(['verify', '--data-dir', dir]);
  t.equal(ran.code, 2);
  t.match(ran.stderr, /no event store at/);
  t.equal(ran.stdout, '');
  t.equal((await ledger(['verify', '--data-dir', dir])).code, 2, 'still none');
});

t.test('in process: runVerify and its one-line summary', async (t) => {
  const dir = t.testdir();
  t.equal(await runVerify(dir), undefined, 'no events.db');
  await dataDirWith(dir, 3);
  const report = await runVerify(dir);
  t.match(report, { ok: true, checkedEvents: 3 });
  t.match(describeReport(report!), /^ok: 3 events intact and chained; checkpoint of 3 events/);
  t.equal(
    describeReport({ ok: true, checkedEvents: 0 }),
    'ok: 0 events intact and chained; no signed checkpoint yet',
  );
  t.equal(
    describeReport({ ok: false, checkedEvents: 9, reason: 'checkpoint-signature', detail: 'bad signature' }),
    'TAMPERED (checkpoint-signature): bad signature; 9 events intact before it',
  );
});

t.test('a log that cannot be read now: exit 3, neither intact nor tampered', async (t) => {
  const dir = t.testdir();
  await dataDirWith(dir, 3);
  // Another process's exclusive lock: the verifier's connection waits out its busy timeout, then gives up.
  const holder = new Database(join(dir, 'events.db'));
  holder.pragma('locking_mode = EXCLUSIVE');
  holder.exec('BEGIN EXCLUSIVE');
  t.teardown(() => holder.close());
  const ran = await ledger(['verify', '--data-dir', dir]);
  t.equal(ran.code, 3, ran.stderr);
  t.match(ran.stderr, /^ledger verify: could not read the log: database is locked/);
  t.equal(ran.stdout, '', 'no report');
});
