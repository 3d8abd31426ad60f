import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { IdempotencyStore } from './idempotency-store.js';
import { KeyStore } from './key-store.js';

export interface StateStoreOptions {
  /** Milliseconds since the epoch; tests pass a fake clock. Default `Date.now`. */
  readonly clock?: () => number;
  /** How long idempotency records live when `begin` is not told; default 24 h. */
  readonly idempotencyTtlMs?: number;
  /** scrypt cost (N) for new key hashes; default 16384. Tests lower it. */
  readonly scryptCost?: number;
}

// Each entry runs once, in order; `user_version` records how many have run. Append, never edit.
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE api_keys (
     key_id       TEXT PRIMARY KEY,
     name         TEXT NOT NULL,
     scopes       TEXT NOT NULL,
     party        TEXT,
     kdf          TEXT NOT NULL,
     salt         BLOB NOT NULL,
     hash         BLOB NOT NULL,
     created_at   TEXT NOT NULL,
     last_used_at TEXT,
     revoked_at   TEXT
   );
   CREATE TABLE idempotency (
     key_id          TEXT NOT NULL,
     route           TEXT NOT NULL,
     idempotency_key TEXT NOT NULL,
     request_hash    TEXT NOT NULL,
     state           TEXT NOT NULL CHECK (state IN ('in-flight', 'completed')),
     created_at      INTEGER NOT NULL,
     locked_at       INTEGER NOT NULL,
     expires_at      INTEGER NOT NULL,
     status          INTEGER,
     body            TEXT,
     headers         TEXT,
     PRIMARY KEY (key_id, route, idempotency_key)
   ) WITHOUT ROWID;
   CREATE INDEX idempotency_expires_at ON idempotency (expires_at);`,
  // free_form: the key's token is an operator-chosen LEDGER_ADMIN_KEY, not shaped ldg_<keyId>_<secret>; only
  // then is a token of another shape worth an scrypt against it. An admin installed before this column is
  // assumed free-form until the next ensureBootstrapAdmin, which knows its key, settles it.
  `ALTER TABLE api_keys ADD COLUMN free_form INTEGER NOT NULL DEFAULT 0;
   UPDATE api_keys SET free_form = 1 WHERE key_id = 'admin';`,
];

/** The schema version `StateStore.open` migrates to. */
export const STATE_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * `state.db`: API keys (hashes only) and idempotency records, in SQLite WAL mode so that several services
 * may share one data dir.
 *
 * @example
 * ```ts
 * const state = StateStore.open(join(config.dataDir, 'state.db'));
 * const { key } = await state.keys.ensureBootstrapAdmin({ adminKey: config.adminKey, dataDir: config.dataDir });
 * state.close();
 * ```
 */
export class StateStore {
  readonly keys: KeyStore;
  readonly idempotency: IdempotencyStore;
  readonly #db: Database.Database;

  private constructor(db: Database.Database, options: StateStoreOptions) {
    this.#db = db;
    const clock = options.clock ?? Date.now;
    this.keys = new KeyStore(db, { clock, scryptCost: options.scryptCost });
    this.idempotency = new IdempotencyStore(db, { clock, ttlMs: options.idempotencyTtlMs });
  }

  /** Opens (creating and migrating when needed) the state database at `path`. */
  static open(path: string, options: StateStoreOptions = {}): StateStore {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      // FULL: a lost idempotency record would let a retry append a second event.
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return new StateStore(db, options);
  }

  /** Closes the database. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let index = version; index < MIGRATIONS.length; index += 1) db.exec(MIGRATIONS[index]!);
    if (version < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
