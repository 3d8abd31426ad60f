/**
 * WAL checkpoints on a thread of their own. In WAL mode SQLite copies the log back into the database file
 * (a checkpoint, with an fsync of the file) from inside whichever commit takes the log past `wal_autocheckpoint`
 * pages, so every thousandth page or so a commit on the hot thread also pays for copying megabytes and waiting
 * for the disk. Under load the projector's batches that ran one were the tail of the lag from a 201 to the read
 * model. (The event store does not use it: there it made the longest stalls longer; see this package's README.)
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** How often the thread checkpoints by default: small enough that each checkpoint copies little. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 200;

/**
 * `wal_autocheckpoint` of a connection whose checkpoints run in the background. A checkpoint that runs beside
 * continuous commits copies the log but rarely reaches its very end, and SQLite rewinds the log (at the next
 * commit, once no reader needs the old frames) only after a checkpoint that reached it. So the hot connection
 * still checkpoints itself past this many pages (40 MB with 4 KiB pages); by then the thread has copied nearly
 * all of the log, so that checkpoint has little left to copy.
 */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 10_000;

/** SQLite's default `wal_autocheckpoint`, given back to the hot connection once its thread reports trouble. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

/**
 * `journal_size_limit` of the hot connection: when the log is rewound, a `-wal` file larger than this (a long
 * rebuild's, or one that grew while a reader held old frames) is truncated back to it.
 */
export const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** What a service logs (at warn) with the error its checkpointer reports through `onError`. */
export const CHECKPOINTER_FAILED =
  'background WAL checkpoints failed; the commits checkpoint the log themselves';

export interface CheckpointInBackgroundOptions {
  /** How often to checkpoint (default `DEFAULT_CHECKPOINT_INTERVAL_MS`). */
  readonly intervalMs?: number;
  /**
   * Told when the thread cannot open the file or a checkpoint fails (once per spell of failures; it retries
   * every interval), and when the thread dies. From the first such report on, the hot connection checkpoints
   * itself as SQLite would (every 1 000 pages) again.
   */
  readonly onError?: (error: Error) => void;
}

/** Messages between `WalCheckpointer` and its thread (`wal-checkpointer.worker.ts`). */
export type ToCheckpointerThread = { readonly kind: 'close' };
export type FromCheckpointerThread = {
  readonly kind: 'failed';
  readonly message: string;
  readonly code: string | undefined;
};

/** `setInterval`'s largest delay; a longer one fires at once. */
const MAX_INTERVAL_MS = 2_147_483_647;

/** How long `close()` waits for the thread (a checkpoint stuck on the disk) before terminating it. */
const CLOSE_DEADLINE_MS = 10_000;

/** What the thread needs to open its own connection to the file. */
export interface CheckpointerThreadData {
  readonly path: string;
  /** `PRAGMA synchronous` of the hot connection, so that checkpoints sync the file as its own would. */
  readonly synchronous: number;
  readonly intervalMs: number;
}

/** What `checkpointStep` needs of a connection: better-sqlite3's `pragma`. */
export interface CheckpointConnection {
  pragma(source: string): unknown;
}

/**
 * One step of the thread's loop: connect if not yet connected, then run a PASSIVE checkpoint. A busy checkpoint
 * lock (the owner's fallback, a rebuild's TRUNCATE: a result row with `busy = 1`) and a busy file (recovery by
 * another process: an extended `SQLITE_BUSY_*` code) are not failures; others are reported once per spell of
 * them, so that a file that stays broken does not report five times a second, and the next step tries again.
 * Package-internal, exported for its tests.
 */
export function checkpointStep(
  connect: () => CheckpointConnection,
  report: (error: unknown) => void,
): () => void {
  let failing = false;
  return () => {
    try {
      connect().pragma('wal_checkpoint(PASSIVE)');
      failing = false;
    } catch (error) {
      const code = String((error as { code?: unknown }).code ?? '');
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return;
      if (!failing) report(error);
      failing = true;
    }
  };
}

/**
 * A thread with its own connection to a WAL database that runs `PRAGMA wal_checkpoint(PASSIVE)` every
 * `intervalMs`: it copies committed pages back into the database file without waiting for, or locking out,
 * the readers and the writer (it does share the disk with them). Started by `checkpointInBackground`, which
 * also sets up the hot connection.
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #closed: Promise<void> | undefined;

  constructor(
    data: CheckpointerThreadData,
    onError: ((error: Error) => void) | undefined,
    onTrouble: () => void,
  ) {
    this.#worker = new Worker(new URL('./wal-checkpointer.worker.js', import.meta.url), { workerData: data });
    // Not what keeps a process alive while it runs: its owner's connection is. close() refs it again.
    this.#worker.unref();
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.on('message', (message: FromCheckpointerThread) => {
      onTrouble();
      onError?.(
        Object.assign(new Error(`WAL checkpoint of ${data.path}: ${message.message}`), {
          code: message.code,
        }),
      );
    });
    this.#worker.on('error', (error) => {
      onTrouble();
      onError?.(error);
    });
    this.#worker.once('exit', (code) => {
      if (this.#closed !== undefined) return;
      onTrouble();
      onError?.(new Error(`the WAL checkpointer thread of ${data.path} exited (code ${code})`));
    });
  }

  /**
   * Stops the thread and closes its connection; resolves once the thread has exited (terminated after
   * 10 s if a checkpoint is stuck on the disk). Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      // Referenced again, so that the process waits for the exit it is awaiting.
      this.#worker.ref();
      this.#worker.postMessage({ kind: 'close' } satisfies ToCheckpointerThread);
      const deadline = setTimeout(() => void this.#worker.terminate(), CLOSE_DEADLINE_MS);
      deadline.unref();
      await this.#exited;
      clearTimeout(deadline);
    })();
    return this.#closed;
  }
}

/**
 * Moves the WAL checkpoints of `db`'s file off `db`'s thread: a `WalCheckpointer` thread checkpoints the file
 * every `intervalMs`, and `db` checkpoints itself only past `FALLBACK_AUTOCHECKPOINT_PAGES` (back to SQLite's
 * 1 000 once the thread reports trouble), truncating its log to `JOURNAL_SIZE_LIMIT_BYTES` when it is rewound. Close
 * the checkpointer before `db`, so that `db`, closing last, checkpoints the rest and removes the log.
 *
 * @example
 * ```ts
 * const db = new Database('read.db');
 * db.pragma('journal_mode = WAL');
 * const checkpointer = checkpointInBackground(db, { onError: (error) => logger.warn({ err: error }) });
 * // … commits on db no longer copy the log back themselves …
 * await checkpointer.close();
 * db.close();
 * ```
 */
export function checkpointInBackground(
  db: Database.Database,
  options: CheckpointInBackgroundOptions = {},
): WalCheckpointer {
  if (db.memory) throw new TypeError('an in-memory database has no WAL to checkpoint');
  const mode = db.pragma('journal_mode', { simple: true });
  if (mode !== 'wal') throw new TypeError(`${db.name} is in journal mode ${String(mode)}, not WAL`);
  const intervalMs = options.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > MAX_INTERVAL_MS) {
    throw new RangeError(`intervalMs must be an integer from 1 to ${MAX_INTERVAL_MS}, not ${intervalMs}`);
  }
  const synchronous = db.pragma('synchronous', { simple: true }) as number;
  const asSqliteWould = (): void => {
    try {
      if (db.open) db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    } catch {
      // Best effort from an event handler: the connection is closing or broken, and its owner hears of that.
    }
  };
  db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
  try {
    return new WalCheckpointer({ path: db.name, synchronous, intervalMs }, options.onError, asSqliteWould);
  } catch (error) {
    asSqliteWould();
    throw error;
  }
}
