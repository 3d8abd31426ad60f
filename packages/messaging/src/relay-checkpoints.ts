import type { Position } from '@ledger/event-store';
import Database from 'better-sqlite3';

/** A relay's row: how far Kafka has acknowledged, and which relay instance may publish. */
export interface RelayCheckpointRow {
  readonly name: string;
  /** The last position Kafka acknowledged; `undefined` before the first batch. */
  readonly position: Position | undefined;
  readonly holder: string | undefined;
  readonly heartbeatMs: number | undefined;
}

interface Row {
  name: string;
  commit_pos: string | null;
  prepare_pos: string | null;
  holder: string | null;
  heartbeat_ms: number | null;
}

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE relay_checkpoints (
     name TEXT PRIMARY KEY,
     commit_pos TEXT,
     prepare_pos TEXT,
     holder TEXT,
     heartbeat_ms INTEGER,
     updated_at TEXT NOT NULL
   ) STRICT`,
];

/**
 * The relay's own storage in the data dir (`relay.db`): one row per relay name with the position Kafka last
 * acknowledged and a lease, so that two relays started on one data dir (the all-in-one and a standalone one,
 * or a standby) never publish side by side: one holds the lease and publishes, the other waits and takes
 * over when the holder stops or its heartbeat is older than the lease time.
 *
 * Positions are stored as decimal text: both halves are 64-bit and EventStoreDB's exceed 2^53.
 */
export class RelayCheckpoints {
  readonly #db: Database.Database;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Opens (creating and migrating) the checkpoint file. */
  static open(path: string): RelayCheckpoints {
    const db = new Database(path);
    try {
      db.pragma('busy_timeout = 10000');
      db.pragma('journal_mode = WAL');
      // A checkpoint lost to a power cut only means republishing (consumers dedupe), but FULL costs one fsync per
      // batch, which Kafka's acknowledgement round trip dwarfs.
      db.pragma('synchronous = FULL');
      // The version is read again inside the write transaction: two processes opening a new file at once (a relay
      // and an operator's tool, two relays) must not both run the same migration. An up-to-date file is opened
      // without taking the write lock, so a reader never waits for a relay that holds it.
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current !== MIGRATIONS.length)
        db.transaction(() => {
          const version = db.pragma('user_version', { simple: true }) as number;
          if (version > MIGRATIONS.length) {
            throw new Error(
              `relay.db schema version ${version} is newer than this build understands (${MIGRATIONS.length})`,
            );
          }
          for (let v = version; v < MIGRATIONS.length; v++) {
            db.exec(MIGRATIONS[v]!);
            db.pragma(`user_version = ${v + 1}`);
          }
        }).immediate();
    } catch (error) {
      db.close();
      throw error;
    }
    return new RelayCheckpoints(db);
  }

  /** The relay's row, or `undefined` if it never ran. */
  read(name: string): RelayCheckpointRow | undefined {
    const row = this.#db.prepare('SELECT * FROM relay_checkpoints WHERE name = ?').get(name) as
      | Row
      | undefined;
    if (row === undefined) return undefined;
    return {
      name: row.name,
      position:
        row.commit_pos === null || row.prepare_pos === null
          ? undefined
          : { commit: BigInt(row.commit_pos), prepare: BigInt(row.prepare_pos) },
      holder: row.holder ?? undefined,
      heartbeatMs: row.heartbeat_ms ?? undefined,
    };
  }

  /**
   * Takes or refreshes the lease for `holder` when it is free, already `holder`'s, older than `leaseMs`, or
   * held by a holder that `holderGone` says is gone (a crashed process on this host need not be waited for).
   * Returns whether `holder` now holds it.
   */
  acquire(
    name: string,
    holder: string,
    leaseMs: number,
    nowMs: number = Date.now(),
    holderGone: (holder: string) => boolean = () => false,
  ): boolean {
    return this.#db
      .transaction(() => {
        const row = this.read(name);
        const free =
          row?.holder === undefined ||
          row.holder === holder ||
          row.heartbeatMs === undefined ||
          nowMs - row.heartbeatMs > leaseMs ||
          holderGone(row.holder);
        if (!free) return false;
        this.#db
          .prepare(
            `INSERT INTO relay_checkpoints (name, holder, heartbeat_ms, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, heartbeat_ms = excluded.heartbeat_ms`,
          )
          .run(name, holder, nowMs, new Date(nowMs).toISOString());
        return true;
      })
      .immediate();
  }

  /**
   * Records that Kafka acknowledged everything up to `position`, and refreshes the lease, only while `holder`
   * still holds it. Returns `false` (writing nothing) when another relay has taken the lease over.
   */
  save(name: string, holder: string, position: Position, nowMs: number = Date.now()): boolean {
    const result = this.#db
      .prepare(
        `UPDATE relay_checkpoints SET commit_pos = ?, prepare_pos = ?, heartbeat_ms = ?, updated_at = ?
         WHERE name = ? AND holder = ?`,
      )
      .run(
        position.commit.toString(),
        position.prepare.toString(),
        nowMs,
        new Date(nowMs).toISOString(),
        name,
        holder,
      );
    return result.changes === 1;
  }

  /** Gives the lease up (on a clean stop), so that a standby takes over at once instead of after the lease time. */
  release(name: string, holder: string): void {
    this.#db
      .prepare(
        'UPDATE relay_checkpoints SET holder = NULL, heartbeat_ms = NULL WHERE name = ? AND holder = ?',
      )
      .run(name, holder);
  }

  close(): void {
    this.#db.close();
  }
}
