/**
 * The checkpointer thread: its own connection to the file, a PASSIVE checkpoint every `intervalMs`, until the
 * owner says close. A PASSIVE checkpoint copies what no reader still needs and returns; it never waits.
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
let timer: NodeJS.Timeout | undefined;
try {
  // timeout 0: a checkpoint that finds another one running (the owner's fallback, a rebuild's TRUNCATE) skips.
  db = new Database(path, { fileMustExist: true, timeout: 0 });
  db.pragma(`synchronous = ${synchronous}`);
  timer = setInterval(checkpointStep(db, report), intervalMs);
} catch (error) {
  report(error);
}

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
