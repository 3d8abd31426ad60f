/**
 * The checkpointer thread: its own connection to the file, a PASSIVE checkpoint every `intervalMs`, until the
 * owner says close. A PASSIVE checkpoint copies what no reader still needs and returns; it never waits.
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
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
/** A descriptor of the database file, to sync what a checkpoint copied (see `synced`). */
let file: number | undefined;

/** Opens the connection, or throws (the step reports it and the next step tries again). */
function connect(): Database.Database {
  if (db !== undefined) return db;
  const connection = new Database(path, { fileMustExist: true });
  try {
    connection.pragma(`synchronous = ${synchronous}`);
    file = openSync(path, 'r');
  } catch (error) {
    connection.close();
    throw error;
  }
  db = connection;
  return db;
}

/**
 * SQLite syncs the database file only at a checkpoint that reaches the end of the log, which one running beside
 * continuous commits rarely does: the hot connection's fallback checkpoint would then flush everything copied
 * since. Syncing after each partial checkpoint keeps that flush small.
 */
function synced(): void {
  if (file !== undefined && synchronous > 0) fdatasyncSync(file);
}

const timer = setInterval(checkpointStep(connect, report, synced), intervalMs);

port.on('message', (message: ToCheckpointerThread) => {
  if (message.kind !== 'close') return;
  clearInterval(timer);
  try {
    if (file !== undefined) closeSync(file);
    db?.close();
  } catch (error) {
    report(error);
  }
  port.close();
});
