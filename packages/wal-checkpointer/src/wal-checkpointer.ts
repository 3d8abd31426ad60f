/**
 * WAL checkpoints on a thread of their own. In WAL mode SQLite copies the log back into the database file
 * (a checkpoint, with an fsync of the file) from inside whichever commit crosses `wal_autocheckpoint` pages, so
 * every thousandth page or so a commit on the hot thread also pays for copying megabytes and waiting for the
 * disk. Profiles of the ledger under load showed those commits as the tail of its latencies: the projector's
 * batches (the lag from a 201 to the read model) and the group commits of the main thread.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** How often the thread checkpoints by default: small enough that each checkpoint copies little. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 200;

/**
 * `wal_autocheckpoint` of a connection whose checkpoints run in the background. A checkpoint that runs beside
 * commits can copy the log but never catch up with its end under continuous writes, so the log would not be
 * reset and would grow. The hot connection still checkpoints itself past this many pages (40 MB with 4 KiB
 * pages): by then the thread has copied nearly all of the log, so that checkpoint is short, and it resets
 * the log. It is also what bounds the log if the thread fails.
 */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 10_000;

/** What a service logs (at warn) when its checkpointer reports a failure through `onError`. */
export const CHECKPOINTER_FAILED =
  'background WAL checkpoints failed: commits checkpoint the WAL themselves past FALLBACK_AUTOCHECKPOINT_PAGES';

export interface CheckpointInBackgroundOptions {
  /** How often to checkpoint (default `DEFAULT_CHECKPOINT_INTERVAL_MS`). */
  readonly intervalMs?: number;
  /**
   * Told when the thread cannot open the file or a checkpoint fails (once per spell of failures). The log
   * stays bounded by the hot connection's own checkpoints (`FALLBACK_AUTOCHECKPOINT_PAGES`).
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

/** What the thread needs to open its own connection to the file. */
export interface CheckpointerThreadData {
  readonly path: string;
  /** `PRAGMA synchronous` of the hot connection, so that checkpoints sync the file as its commits would. */
  readonly synchronous: number;
  readonly intervalMs: number;
}

/**
 * One step of the thread's loop: a PASSIVE checkpoint. A busy file (another checkpoint runs: the owner's
 * fallback, a rebuild's TRUNCATE) is skipped silently; other failures are reported once per spell of them, so a
 * file that stays broken does not report five times a second. Package-internal, exported for its tests.
 */
export function checkpointStep(
  connection: { pragma(source: string): unknown },
  report: (error: unknown) => void,
): () => void {
  let failing = false;
  return () => {
    try {
      connection.pragma('wal_checkpoint(PASSIVE)');
      failing = false;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return;
      if (!failing) report(error);
      failing = true;
    }
  };
}

/**
 * A thread with its own connection to a WAL database that runs `PRAGMA wal_checkpoint(PASSIVE)` every
 * `intervalMs`: it copies committed pages back into the database file without ever waiting for, or blocking,
 * the readers and the writer. Start it with `checkpointInBackground`, which also sets up the hot connection.
 */
export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #closed: Promise<void> | undefined;

  constructor(data: CheckpointerThreadData, onError?: (error: Error) => void) {
    this.#worker = new Worker(new URL('./wal-checkpointer.worker.js', import.meta.url), { workerData: data });
    // Never what keeps a process alive: its owner's connection does that, and closes it.
    this.#worker.unref();
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.on('message', (message: FromCheckpointerThread) => {
      onError?.(
        Object.assign(new Error(`WAL checkpoint of ${data.path}: ${message.message}`), {
          code: message.code,
        }),
      );
    });
    this.#worker.on('error', (error) => onError?.(error));
  }

  /** Stops the thread and closes its connection. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      // Referenced again, so that the process waits for the exit it is awaiting.
      this.#worker.ref();
      this.#worker.postMessage({ kind: 'close' } satisfies ToCheckpointerThread);
      await this.#exited;
    })();
    return this.#closed;
  }
}

/**
 * Moves the WAL checkpoints of `db`'s file off `db`'s thread: `db` checkpoints itself only past
 * `FALLBACK_AUTOCHECKPOINT_PAGES`, and a `WalCheckpointer` thread checkpoints the file every `intervalMs`.
 * Close the checkpointer when closing `db`.
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
  const synchronous = db.pragma('synchronous', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  return new WalCheckpointer(
    { path: db.name, synchronous, intervalMs: options.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS },
    options.onError,
  );
}
