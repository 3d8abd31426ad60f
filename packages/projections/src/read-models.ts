import {
  type CheckpointInBackgroundOptions,
  checkpointInBackground,
  type WalCheckpointer,
} from '@ledger/wal-checkpointer';
import type Database from 'better-sqlite3';
import { ProjectionError } from './errors.js';
import { openReadDb } from './schema.js';

/** The position the read models have folded, as stored with them. */
export interface StoredCheckpoint {
  /** `Number(position.commit)`. */
  readonly position: number;
  readonly prepare: bigint;
}

/** A running runtime's lease on read.db: who holds it, from which process, when it last beat (epoch ms). */
export interface ProjectorLease {
  readonly holder: string;
  readonly pid: number;
  readonly heartbeatMs: number;
}

export interface ReadModelsOptions {
  /** `true`, or options whose `onError` hears of the checkpointer thread's failures (see `ReadModels.open`). */
  readonly backgroundCheckpoints?: boolean | CheckpointInBackgroundOptions;
}

/** The name of the checkpoint row all read-model projections share (they commit in one transaction). */
export const CHECKPOINT_NAME = 'read-models';

interface Internals {
  readonly db: Database.Database;
  statement(sql: string): Database.Statement;
  /** Set while a runtime folds into these read models, so that a rebuild refuses to run beside it. */
  owner: object | undefined;
}

let internalsOf: (readModels: ReadModels) => Internals;

/**
 * The read models' database (`read.db`): the write side of the projections. Open it once per process that
 * projects; `LedgerQueries` opens its own read-only connection.
 *
 * @example
 * ```ts
 * const readModels = ReadModels.open('./data/read.db');
 * readModels.checkpoint(); // { position: 42, prepare: 42n } or undefined before the first batch
 * await readModels.close();
 * ```
 */
export class ReadModels {
  readonly #internals: Internals;
  readonly #checkpointer: WalCheckpointer | undefined;
  /** Set by `close()`: from then on the read models refuse work. */
  #closing: Promise<void> | undefined;

  static {
    internalsOf = (readModels) => {
      if (readModels.#closing !== undefined)
        throw new ProjectionError('read-models-closed', 'the read models are closed');
      return readModels.#internals;
    };
  }

  private constructor(db: Database.Database, checkpointer: WalCheckpointer | undefined) {
    this.#checkpointer = checkpointer;
    const statements = new Map<string, Database.Statement>();
    this.#internals = {
      db,
      statement(sql) {
        let statement = statements.get(sql);
        if (statement === undefined) {
          statement = db.prepare(sql);
          statements.set(sql, statement);
        }
        return statement;
      },
      owner: undefined,
    };
  }

  /**
   * Opens (creating and migrating if needed) the read models at `path`. `backgroundCheckpoints` (the
   * projector's) copies the WAL back into read.db on a thread of its own (`@ledger/wal-checkpointer`) instead of
   * inside the batch whose commit crosses SQLite's `wal_autocheckpoint`: such a batch, and every event waiting
   * behind it, was the tail of the lag from a 201 to the read model.
   */
  static open(path: string, options: ReadModelsOptions = {}): ReadModels {
    const db = openReadDb(path, { queryOnly: false });
    const { backgroundCheckpoints = false } = options;
    try {
      return new ReadModels(
        db,
        backgroundCheckpoints === false
          ? undefined
          : checkpointInBackground(db, backgroundCheckpoints === true ? {} : backgroundCheckpoints),
      );
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** The stored checkpoint, or `undefined` when nothing was folded yet. */
  checkpoint(): StoredCheckpoint | undefined {
    const row = internalsOf(this)
      .statement('SELECT position, prepare FROM checkpoints WHERE name = ?')
      .get(CHECKPOINT_NAME) as { position: number; prepare: number } | undefined;
    return row === undefined ? undefined : { position: row.position, prepare: BigInt(row.prepare) };
  }

  /**
   * Every lease row, freshest first: the runtimes folding into this read.db (from any process), and stale rows
   * of ones that died without stopping (a heartbeat older than `LEASE_TIMEOUT_MS`).
   */
  leases(): ProjectorLease[] {
    const rows = internalsOf(this)
      .statement('SELECT holder, pid, heartbeat_ms FROM projector_leases ORDER BY heartbeat_ms DESC, holder')
      .all() as { holder: string; pid: number; heartbeat_ms: number }[];
    return rows.map((row) => ({ holder: row.holder, pid: row.pid, heartbeatMs: row.heartbeat_ms }));
  }

  /**
   * Closes the connection. Idempotent; stop the runtime first. Without a checkpointer thread it is closed at
   * once. With one, the thread is stopped first and the connection closed after it, so that it is the last
   * one and checkpoints the rest of the log and removes it (await it before the process exits); the read
   * models refuse work from the call on.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    const db = this.#internals.db;
    const checkpointer = this.#checkpointer;
    if (checkpointer === undefined) {
      db.close();
      this.#closing = Promise.resolve();
    } else {
      this.#closing = checkpointer.close().finally(() => db.close());
    }
    return this.#closing;
  }
}

/** The connection and statement cache behind a `ReadModels` (package-internal). */
export function readModelsInternals(readModels: ReadModels): Internals {
  return internalsOf(readModels);
}
