import type Database from 'better-sqlite3';

/** An in-flight record older than this is taken to belong to a crashed request and may be taken over. */
export const STALE_IN_FLIGHT_MS = 60_000;
/** Default lifetime of an idempotency record (DESIGN §7 `LEDGER_IDEMPOTENCY_TTL`). */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 86_400_000;

/** Identifies one idempotent request: the writing key, the route (method and path) and the client's key. */
export interface IdempotencyScope {
  readonly keyId: string;
  readonly route: string;
  readonly idempotencyKey: string;
}

export interface BeginInput extends IdempotencyScope {
  /** SHA-256 of the canonical JSON body (`requestHash(body)`). */
  readonly requestHash: string;
  /** Lifetime of a new record; defaults to the store's. */
  readonly ttlMs?: number;
}

/**
 * Which begun request a `complete` or `abandon` comes from: the `lockedAt` its `begin` returned. A request that
 * ran so long that another took its record over (stale after `STALE_IN_FLIGHT_MS`) then no longer touches the
 * record: its late `abandon` would delete the new owner's record, whose ids a later retry could not derive again.
 */
export interface Ownership {
  readonly lockedAt: number;
}

/** A response worth replaying. */
export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * What `begin` found:
 * - `new`: go ahead; `createdAt` (ms) is the record's creation time — the original one when a stale
 *   in-flight record was taken over (`resumed: true`), so that ids derived from it stay the same; `lockedAt`
 *   identifies this request as the record's owner (pass it to `complete` and `abandon`, see `Ownership`);
 * - `replay`: answer with the stored response;
 * - `mismatch`: the key was used with another body (`422`);
 * - `in-flight`: the same request is being handled right now (`409`).
 */
export type BeginResult =
  | { readonly kind: 'new'; readonly createdAt: number; readonly lockedAt: number; readonly resumed: boolean }
  | ({ readonly kind: 'replay' } & StoredResponse)
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'in-flight' };

interface Row {
  request_hash: string;
  state: 'in-flight' | 'completed';
  created_at: number;
  locked_at: number;
  expires_at: number;
  status: number | null;
  body: string | null;
  headers: string | null;
}

interface IdempotencyStoreOptions {
  readonly clock: () => number;
  readonly ttlMs?: number | undefined;
}

/**
 * Idempotency records in `state.db` (IETF httpapi Idempotency-Key draft): `begin` before handling a request,
 * then `complete` with the response or `abandon` on error (errors are not stored, so a corrected retry may
 * reuse the key). Records expire after their TTL and survive restarts.
 *
 * @example
 * ```ts
 * const begun = state.idempotency.begin({ keyId, route, idempotencyKey, requestHash: requestHash(body) });
 * if (begun.kind === 'new') {
 *   const owner = { keyId, route, idempotencyKey, lockedAt: begun.lockedAt };
 *   try { const response = await handle(); state.idempotency.complete({ ...owner, ...response }); }
 *   catch (e) { state.idempotency.abandon(owner); throw e; }
 * }
 * ```
 */
export class IdempotencyStore {
  readonly #db: Database.Database;
  readonly #clock: () => number;
  readonly #ttlMs: number;
  #lastPurge = Number.NEGATIVE_INFINITY;
  readonly #begin: (input: BeginInput) => BeginResult;
  readonly #complete: Database.Statement<[string, string, number, string, string, string, number]>;
  readonly #abandon: Database.Statement<[string, string, string, number]>;

  /** @internal use `StateStore.open(path).idempotency`. */
  constructor(db: Database.Database, options: IdempotencyStoreOptions) {
    this.#db = db;
    this.#clock = options.clock;
    this.#ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
    const select = db.prepare<[string, string, string], Row>(
      'SELECT * FROM idempotency WHERE key_id = ? AND route = ? AND idempotency_key = ?',
    );
    const remove = db.prepare(
      'DELETE FROM idempotency WHERE key_id = ? AND route = ? AND idempotency_key = ?',
    );
    const insert = db.prepare(
      `INSERT INTO idempotency (key_id, route, idempotency_key, request_hash, state, created_at, locked_at, expires_at)
       VALUES (?, ?, ?, ?, 'in-flight', ?, ?, ?)`,
    );
    const takeOver = db.prepare(
      'UPDATE idempotency SET locked_at = ? WHERE key_id = ? AND route = ? AND idempotency_key = ?',
    );
    // IMMEDIATE: two processes beginning the same key must not both see "no record".
    const begin = db.transaction((input: BeginInput, now: number): BeginResult => {
      const { keyId, route, idempotencyKey, requestHash } = input;
      let row = select.get(keyId, route, idempotencyKey);
      if (row !== undefined && isExpired(row, now)) {
        remove.run(keyId, route, idempotencyKey);
        row = undefined;
      }
      if (row === undefined) {
        const ttl = input.ttlMs ?? this.#ttlMs;
        insert.run(keyId, route, idempotencyKey, requestHash, now, now, now + ttl);
        return { kind: 'new', createdAt: now, lockedAt: now, resumed: false };
      }
      if (row.request_hash !== requestHash) return { kind: 'mismatch' };
      if (row.state === 'completed') {
        return {
          kind: 'replay',
          status: row.status!,
          body: JSON.parse(row.body!) as unknown,
          headers: JSON.parse(row.headers!) as Record<string, string>,
        };
      }
      if (now - row.locked_at < STALE_IN_FLIGHT_MS) return { kind: 'in-flight' };
      takeOver.run(now, keyId, route, idempotencyKey);
      return { kind: 'new', createdAt: row.created_at, lockedAt: now, resumed: true };
    });
    this.#begin = (input) => begin.immediate(input, this.#clock());
    this.#complete = db.prepare(
      `UPDATE idempotency SET body = ?, headers = ?, status = ?, state = 'completed'
       WHERE key_id = ? AND route = ? AND idempotency_key = ? AND state = 'in-flight' AND locked_at = ?`,
    );
    this.#abandon = db.prepare(
      `DELETE FROM idempotency
       WHERE key_id = ? AND route = ? AND idempotency_key = ? AND state = 'in-flight' AND locked_at = ?`,
    );
  }

  /** Starts an idempotent request, or tells why it must not run (see `BeginResult`). */
  begin(input: BeginInput): BeginResult {
    this.#purgeNowAndThen();
    return this.#begin(input);
  }

  /**
   * Stores the response of a request begun with `begin`, for replay until the record expires; only while that
   * request (`lockedAt`) still owns the record.
   */
  complete(input: IdempotencyScope & Ownership & StoredResponse): void {
    this.#complete.run(
      JSON.stringify(input.body),
      JSON.stringify(input.headers),
      input.status,
      input.keyId,
      input.route,
      input.idempotencyKey,
      input.lockedAt,
    );
  }

  /**
   * Forgets an in-flight request that failed: errors are not stored, so the key may be used again; only while
   * that request (`lockedAt`) still owns the record.
   */
  abandon(scope: IdempotencyScope & Ownership): void {
    this.#abandon.run(scope.keyId, scope.route, scope.idempotencyKey, scope.lockedAt);
  }

  /** Deletes every expired record; returns how many. `begin` calls it at most once a minute. */
  purgeExpired(): number {
    const now = this.#clock();
    this.#lastPurge = now;
    return this.#db
      .prepare(`DELETE FROM idempotency WHERE expires_at <= ? AND (state = 'completed' OR locked_at <= ?)`)
      .run(now, now - STALE_IN_FLIGHT_MS).changes;
  }

  #purgeNowAndThen(): void {
    if (this.#clock() - this.#lastPurge >= 60_000) this.purgeExpired();
  }
}

// An in-flight record never expires while its request may still be running: a second request would
// otherwise get fresh ids and append a second event.
function isExpired(row: Row, now: number): boolean {
  return row.expires_at <= now && (row.state === 'completed' || now - row.locked_at >= STALE_IN_FLIGHT_MS);
}
