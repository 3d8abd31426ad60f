import Database from 'better-sqlite3';

/**
 * Versioned schema migrations, applied in order inside one transaction each; `PRAGMA user_version` records
 * how far a database file has come. Append new entries, never edit old ones: files in the field were built
 * by them.
 */
const MIGRATIONS: readonly string[] = [
  // 1: the log. `position` is the rowid, so `$all` scans walk the table in its own order. Events are never
  // deleted, so rowids are never reused and AUTOINCREMENT's extra bookkeeping is not needed.
  `CREATE TABLE events (
     position  INTEGER PRIMARY KEY,
     event_id  TEXT    NOT NULL UNIQUE,
     stream_id TEXT    NOT NULL,
     revision  INTEGER NOT NULL,
     type      TEXT    NOT NULL,
     data      TEXT    NOT NULL,
     metadata  TEXT,
     created   TEXT    NOT NULL,
     UNIQUE (stream_id, revision)
   );
   CREATE INDEX events_by_type ON events (type, position);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** How long a connection waits for another connection's lock before SQLite answers SQLITE_BUSY. */
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

export interface OpenOptions {
  /** The connection that appends: WAL, fsync on every commit, wait for other processes' write locks. */
  readonly role: 'writer' | 'reader';
  readonly busyTimeoutMs?: number;
}

/**
 * Opens a connection with the pragmas its role needs. `synchronous = FULL` in WAL mode fsyncs the WAL on every
 * commit: that is what makes an acknowledged append survive a power cut, not just a process crash.
 */
export function openConnection(path: string, options: OpenOptions): Database.Database {
  const db = new Database(path);
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS}`);
  db.pragma('journal_mode = WAL');
  if (options.role === 'writer') {
    db.pragma('synchronous = FULL');
  } else {
    db.pragma('query_only = ON');
  }
  return db;
}

/** Brings a database file up to the current schema. Safe to call from several processes at once. */
export function migrate(db: Database.Database): void {
  const apply = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `database schema version ${current} is newer than this build understands (${MIGRATIONS.length})`,
      );
    }
    for (let version = current; version < MIGRATIONS.length; version += 1) {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }
  });
  apply.immediate();
}
