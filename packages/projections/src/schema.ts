import Database from 'better-sqlite3';

/**
 * The read models' tables. Each is a cache derived from the event store, so a file that is lost or from an
 * incompatible build is rebuilt (`ledger rebuild`), never repaired.
 */
const TABLES = `
  CREATE TABLE checkpoints (
    name     TEXT    PRIMARY KEY,
    position INTEGER NOT NULL,
    prepare  INTEGER NOT NULL
  );
  CREATE TABLE claim_events (
    position       INTEGER PRIMARY KEY,
    event_id       TEXT    NOT NULL UNIQUE,
    type           TEXT    NOT NULL,
    stream_id      TEXT    NOT NULL,
    revision       INTEGER NOT NULL,
    claim_id       TEXT    NOT NULL,
    actor_id       TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    party_id       TEXT    NOT NULL,
    party          TEXT    NOT NULL,
    stated_at      TEXT    NOT NULL,
    stated_at_ms   INTEGER NOT NULL,
    recorded_at    TEXT    NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    principal      TEXT    NOT NULL,
    data           TEXT    NOT NULL,
    metadata       TEXT    NOT NULL
  );
  CREATE INDEX claim_events_by_actor    ON claim_events (actor_id, position);
  CREATE INDEX claim_events_by_claim    ON claim_events (claim_id, position);
  CREATE INDEX claim_events_by_party    ON claim_events (party_id, position);
  CREATE INDEX claim_events_by_type     ON claim_events (type, position);
  CREATE INDEX claim_events_by_recorded ON claim_events (recorded_at_ms, position);
  CREATE TABLE claims (
    claim_id    TEXT    PRIMARY KEY,
    position    INTEGER NOT NULL UNIQUE,
    actor_id    TEXT    NOT NULL,
    claimant_id TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    view        TEXT    NOT NULL
  );
  CREATE INDEX claims_by_actor    ON claims (actor_id, position);
  CREATE INDEX claims_by_claimant ON claims (claimant_id, position);
  CREATE INDEX claims_by_state    ON claims (state, position);
  CREATE INDEX claims_by_status   ON claims (status, position);
  CREATE TABLE parties (
    party_id TEXT    PRIMARY KEY,
    name     TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    position INTEGER NOT NULL
  );
  CREATE TABLE actors (
    actor_id       TEXT    PRIMARY KEY,
    name           TEXT    NOT NULL,
    aliases        TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    attributions   TEXT    NOT NULL,
    last_stated_at TEXT    NOT NULL,
    position       INTEGER NOT NULL,
    summary        TEXT    NOT NULL
  );
  CREATE INDEX actors_by_status ON actors (status, actor_id);
  CREATE TABLE actor_attributions (
    actor_id TEXT NOT NULL,
    state    TEXT NOT NULL,
    status   TEXT NOT NULL,
    PRIMARY KEY (actor_id, state)
  ) WITHOUT ROWID;
  CREATE INDEX actor_attributions_by_state ON actor_attributions (state, actor_id);
`;

/**
 * Who is folding into this read.db: one row per running `ProjectionRuntime` (any process), its heartbeat
 * refreshed with every batch and every few seconds, deleted on stop. A rebuild refuses to run beside a fresh
 * one. Not a read model: a rebuild keeps it.
 */
const LEASES = `
  CREATE TABLE projector_leases (
    holder       TEXT    PRIMARY KEY,
    pid          INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL
  );
`;

/**
 * The actors projection's running state: each actor's fold (`ActorFold` as JSON) and each claim's tally
 * (`ClaimTally`), so that a batch applies only its own events instead of re-reading every touched actor's
 * history.
 */
const ACTOR_FOLD_TABLES = `
  CREATE TABLE actor_folds (
    actor_id TEXT PRIMARY KEY,
    fold     TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE actor_claims (
    claim_id      TEXT    PRIMARY KEY,
    actor_id      TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    retracted     INTEGER NOT NULL,
    denials       INTEGER NOT NULL,
    confirmations INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/**
 * A lease whose heartbeat is younger than this is a live projector: `rebuild` refuses to run beside it, and so
 * does a migration that empties the read models (three missed heartbeats; a batch in flight refreshes the lease
 * itself when it commits).
 */
export const LEASE_TIMEOUT_MS = 15_000;

/** Every read-model table, in the order a rebuild drops them (what a reset or a comparison of read.db files covers). */
export const READ_MODEL_TABLES = [
  'actor_claims',
  'actor_folds',
  'actor_attributions',
  'actors',
  'parties',
  'claims',
  'claim_events',
  'checkpoints',
] as const;

/**
 * Versioned migrations, one transaction each; `PRAGMA user_version` records how far a file has come. Append
 * new entries, never edit old ones.
 */
const MIGRATIONS: readonly string[] = [
  TABLES,
  LEASES,
  // Folds exist only for what is folded after they do: empty the read models (checkpoint included) so that
  // the projector folds the whole ledger again, like a rebuild, and every actor gets its fold.
  `${ACTOR_FOLD_TABLES}
  DELETE FROM actor_attributions; DELETE FROM actors; DELETE FROM parties; DELETE FROM claims;
  DELETE FROM claim_events; DELETE FROM checkpoints;`,
];

/** The first version whose migration empties the read models for a refold. */
const REFOLD_VERSION = 3;

/** The schema version this build writes. */
export const READ_MODELS_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens read.db. WAL lets the query side read while the projector writes, from any process on the machine.
 * `synchronous = NORMAL` (no fsync per commit, only at checkpoints of the WAL) is enough here: the read models
 * are a rebuildable cache and their checkpoint commits with their rows, so a power cut can only lose a suffix
 * of batches, which the projector folds again from the older checkpoint it then finds.
 */
export function openReadDb(path: string, options: { readonly queryOnly: boolean }): Database.Database {
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
    if (options.queryOnly) db.pragma('query_only = ON');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Brings a file up to the current schema. Safe to call from several processes at once. A file already current
 * (the usual case) is not written, so it opens without the write lock, also while a rebuild holds it.
 */
export function migrate(db: Database.Database): void {
  if (db.pragma('user_version', { simple: true }) === MIGRATIONS.length) return;
  const apply = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `read.db schema version ${current} is newer than this build understands (${MIGRATIONS.length}); rebuild it`,
      );
    }
    if (current >= 2 && current < REFOLD_VERSION) refuseBesideLiveProjectors(db);
    for (let version = current; version < MIGRATIONS.length; version += 1) {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }
  });
  apply.immediate();
}

/**
 * A projector of an older build still folding into this file would fold the emptied read models again with
 * its own code, leaving them without what the newer schema needs (the actor folds): refuse to migrate until
 * every projector of the data dir is stopped, whatever process opens the file.
 */
function refuseBesideLiveProjectors(db: Database.Database): void {
  const now = Date.now();
  const live = db
    .prepare('SELECT pid, heartbeat_ms FROM projector_leases WHERE heartbeat_ms > ?')
    .all(now - LEASE_TIMEOUT_MS) as { pid: number; heartbeat_ms: number }[];
  if (live.length === 0) return;
  const who = live.map((lease) => `pid ${lease.pid}, seen ${Math.max(0, now - lease.heartbeat_ms)} ms ago`);
  throw new Error(
    `read.db needs schema ${REFOLD_VERSION}, which folds the read models again from zero, but a projector is folding into it (${who.join('; ')}): stop every ledger or projector of this data dir, then start the new build`,
  );
}

/** Drops every read-model table and creates them empty, in one transaction (the caller's). */
export function recreateTables(db: Database.Database): void {
  for (const table of READ_MODEL_TABLES) db.exec(`DROP TABLE IF EXISTS ${table}`);
  db.exec(TABLES);
  db.exec(ACTOR_FOLD_TABLES);
}
