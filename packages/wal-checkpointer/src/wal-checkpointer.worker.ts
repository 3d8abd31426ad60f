/**
 * The checkpointer thread: its own connection to the file, a PASSIVE checkpoint every `intervalMs`, until the
 * owner says close. A PASSIVE checkpoint copies what no reader still needs and returns; it never waits.
 *
 * Only SQLite touches the file here. A descriptor of our own (to fdatasync what a checkpoint copied, say)
 * would be unsafe: closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's
 * connections' included, and another process could then take the file for its own.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import {
  type CheckpointerThreadData,
  checkpointStep,
  type FromCheckpointerThread,
  type ToCheckpointerThread,
} from './wal-checkpointer.js';

const port = parentPort!;
const { path, synchronous, intervalMs } = workerData as CheckpointerThreadData;

function report(error: unknown): void {
  const { message, code } = error as { message?: unknown; code?: unknown };
  port.postMessage({
    kind: 'failed',
    message: String(message ?? error),
    code: typeof code === 'string' ? code : undefined,
  } satisfies FromCheckpointerThread);
}

let db: Database.Database | undefined;

/** Opens the connection, or throws (the step reports it and the next step tries again). */
function connect(): Database.Database {
  if (db !== undefined) return db;
  const connection = new Database(path, { fileMustExist: true });
  try {
    connection.pragma(`synchronous = ${synchronous}`);
  } catch (error) {
    connection.close();
    throw error;
  }
  db = connection;
  return db;
}

const timer = setInterval(checkpointStep(connect, report), intervalMs);

port.on('message', (message: ToCheckpointerThread) => {
  if (message.kind !== 'close') return;
  clearInterval(timer);
  try {
    db?.close();
  } catch (error) {
    report(error);
  }
  port.close();
});
