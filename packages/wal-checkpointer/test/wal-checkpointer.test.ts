import { randomBytes } from 'node:crypto';
import { statSync, unlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkpointInBackground,
  FALLBACK_AUTOCHECKPOINT_PAGES,
  JOURNAL_SIZE_LIMIT_BYTES,
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

/** One commit per row, a few pages of the log each (about 1 000 in all): far below the fallback. */
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
  t.equal(
    db.pragma('journal_size_limit', { simple: true }),
    JOURNAL_SIZE_LIMIT_BYTES,
    'and keeps its log small',
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

t.test("a thread in trouble gives the hot connection SQLite's own checkpoints back", async (t) => {
  const { db, path } = walDatabase(t);
  // The thread opens the file by name, and there is no longer one: its first step fails.
  unlinkSync(path);
  const errors: Error[] = [];
  const checkpointer = checkpointInBackground(db, { intervalMs: 10, onError: (error) => errors.push(error) });
  t.teardown(() => checkpointer.close());
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), FALLBACK_AUTOCHECKPOINT_PAGES, 'at first');
  await eventually(t, () => errors.length > 0, 'the report');
  t.match(errors[0], { message: /test\.db: unable to open/ });
  t.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'then back to SQLite’s default');
});

t.test('a checkpoint step connects lazily and retries a file it cannot open', async (t) => {
  const dir = t.testdir();
  const path = `${dir}/later.db`;
  const reports: unknown[] = [];
  let connection: Database.Database | undefined;
  const step = checkpointStep(
    () => (connection ??= new Database(path, { fileMustExist: true })),
    (error) => reports.push(error),
  );
  step();
  step();
  t.match(reports, [{ message: /unable to open|does not exist/ }], 'a missing file: reported');
  t.equal(reports.length, 1, 'once');
  const created = new Database(path);
  created.pragma('journal_mode = WAL');
  created.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY)');
  t.teardown(() => {
    connection?.close();
    created.close();
  });
  step();
  t.ok(connection?.open, 'the next step connects once the file exists');
  t.equal(reports.length, 1, 'and reports nothing more');
});

t.test('a checkpoint step reports failures once per spell, and skips a busy lock or file', async (t) => {
  const db = walDatabase(t).db;
  // The step's connection: the real one, or one that answers or throws what SQLite would.
  let failure: Error | undefined;
  let busyRow = false;
  const connection = {
    pragma(source: string): unknown {
      if (failure !== undefined) throw failure;
      if (busyRow) return [{ busy: 1, log: -1, checkpointed: -1 }];
      return db.pragma(source);
    },
  };
  const reports: unknown[] = [];
  const step = checkpointStep(
    () => connection,
    (error) => reports.push(error),
  );
  const sqliteError = (code: string) => Object.assign(new Error(code), { code });
  step();
  busyRow = true;
  step();
  busyRow = false;
  failure = sqliteError('SQLITE_BUSY_RECOVERY');
  step();
  failure = sqliteError('SQLITE_LOCKED_SHAREDCACHE');
  step();
  t.same(reports, [], 'a busy checkpoint lock, a busy or locked file: skipped without a report');
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
  t.equal(reports.length, 2);
});

t.test('refuses what has no WAL to checkpoint', async (t) => {
  const memory = new Database(':memory:');
  t.teardown(() => memory.close());
  t.throws(() => checkpointInBackground(memory), /in-memory/);
  const path = `${t.testdir()}/rollback.db`;
  const rollback = new Database(path);
  t.teardown(() => rollback.close());
  t.throws(() => checkpointInBackground(rollback), /journal mode delete, not WAL/);
  const { db } = walDatabase(t);
  for (const intervalMs of [0, 1.5, Number.NaN, 2 ** 31]) {
    t.throws(() => checkpointInBackground(db, { intervalMs }), RangeError, `intervalMs ${intervalMs}`);
  }
  t.equal(rollback.pragma('wal_autocheckpoint', { simple: true }), 1000, 'left as it was');
});
