import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkpointInBackground,
  FALLBACK_AUTOCHECKPOINT_PAGES,
  WalCheckpointer,
} from '@ledger/wal-checkpointer';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { checkpointStep } from '../src/wal-checkpointer.js';

const ROWS = 300;
const ROW_BYTES = 4096;

/** A WAL database with one table, closed at the end of the test. */
function walDatabase(t: Test, name = 'test.db'): { db: Database.Database; path: string } {
  const path = `${t.testdir()}/${name}`;
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  t.teardown(() => db.close());
  return { db, path };
}

/** One commit per row, each a page or more of the log: `ROWS` pages in all, far below the fallback. */
function insertRows(db: Database.Database): void {
  const insert = db.prepare('INSERT INTO blobs (body) VALUES (?)');
  for (let row = 0; row < ROWS; row += 1) insert.run(randomBytes(ROW_BYTES));
}

/** Resolves once `predicate` holds, or fails the test after 10 s. */
async function eventually(t: Test, predicate: () => boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 10) {
    if (predicate()) return;
    await sleep(10);
  }
  t.fail(`gave up waiting: ${what}`);
}

const fileSize = (path: string): number => statSync(path).size;

t.test('the thread copies committed pages back into the database file', async (t) => {
  const { db, path } = walDatabase(t);
  const checkpointer = checkpointInBackground(db, { intervalMs: 10 });
  t.teardown(() => checkpointer.close());
  t.equal(
    db.pragma('wal_autocheckpoint', { simple: true }),
    FALLBACK_AUTOCHECKPOINT_PAGES,
    'the hot connection checkpoints itself only past the fallback',
  );
  insertRows(db);
  await eventually(t, () => fileSize(path) >= ROWS * ROW_BYTES, 'the rows to reach the database file');
  t.ok(fileSize(path) >= ROWS * ROW_BYTES, 'the database file holds the rows, not just the log');

  // Control: the same commits with the same fallback and no thread stay in the log.
  const control = walDatabase(t, 'control.db');
  control.db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  insertRows(control.db);
  await sleep(100);
  t.ok(fileSize(control.path) < ROWS * ROW_BYTES, 'without the thread, nothing is copied back');
});

t.test('close() stops the thread and is idempotent', async (t) => {
  const { db, path } = walDatabase(t);
  const checkpointer = checkpointInBackground(db, { intervalMs: 10 });
  insertRows(db);
  await eventually(t, () => fileSize(path) >= ROWS * ROW_BYTES, 'the first rows to be copied back');
  const closing = checkpointer.close();
  t.equal(checkpointer.close(), closing, 'the same promise');
  await closing;
  const before = fileSize(path);
  insertRows(db);
  await sleep(100);
  t.equal(fileSize(path), before, 'nothing is copied back after close');
});

t.test('reports a file it cannot open, and still closes', async (t) => {
  const dir = t.testdir();
  for (const [name, pattern] of [
    ['absent.db', /absent\.db: unable to open/],
    ['garbage.db', /garbage\.db: file is not a database/],
  ] as const) {
    if (name === 'garbage.db') writeFileSync(`${dir}/${name}`, randomBytes(8192));
    const errors: Error[] = [];
    const checkpointer = new WalCheckpointer(
      { path: `${dir}/${name}`, synchronous: 1, intervalMs: 5 },
      (error) => errors.push(error),
    );
    await eventually(t, () => errors.length > 0, `the failure on ${name}`);
    await sleep(50);
    await checkpointer.close();
    t.match(errors, [{ message: pattern }], `${name}: one report`);
  }
});

t.test('a checkpoint step reports failures once per spell, and skips a busy file', async (t) => {
  const db = walDatabase(t).db;
  // The step's connection: the real one, or one whose next checkpoint throws what SQLite would.
  let failure: Error | undefined;
  const connection = {
    pragma(source: string): unknown {
      if (failure !== undefined) throw failure;
      return db.pragma(source);
    },
  };
  const reports: unknown[] = [];
  const step = checkpointStep(connection, (error) => reports.push(error));
  const sqliteError = (code: string) => Object.assign(new Error(code), { code });
  step();
  failure = sqliteError('SQLITE_BUSY');
  step();
  failure = sqliteError('SQLITE_LOCKED');
  step();
  t.same(reports, [], 'a busy or locked file is skipped without a report');
  failure = sqliteError('SQLITE_IOERR');
  step();
  step();
  step();
  t.equal(reports.length, 1, 'three failing steps, one report');
  failure = undefined;
  step();
  failure = sqliteError('SQLITE_CORRUPT');
  step();
  t.match(reports, [{ code: 'SQLITE_IOERR' }, { code: 'SQLITE_CORRUPT' }], 'a new spell after a success');
});

t.test('refuses what has no WAL to checkpoint', async (t) => {
  const memory = new Database(':memory:');
  t.teardown(() => memory.close());
  t.throws(() => checkpointInBackground(memory), /in-memory/);
  const path = `${t.testdir()}/rollback.db`;
  const rollback = new Database(path);
  t.teardown(() => rollback.close());
  t.throws(() => checkpointInBackground(rollback), /journal mode delete, not WAL/);
  t.equal(rollback.pragma('wal_autocheckpoint', { simple: true }), 1000, 'left as it was');
});
