import { timingSafeEqual } from 'node:crypto';
import {
  type EventStore,
  type ExpectedRevision,
  isStreamNotFoundError,
  isWrongExpectedVersionError,
} from '@ledger/event-store';
import {
  ADMIN_KEY_ID,
  type ApiKeys,
  type CreatedKey,
  CreateKeyInput,
  FAILED_TTL_MS,
  hashToken,
  type KeyInfo,
  type KeyStore,
  newKeyToken,
  newTokenHash,
  remember,
  sha256,
  singleFlight,
  TOKEN,
} from './key-store.js';
import type { Principal, Scope } from './scopes.js';

/** The stream of one API key: `apikey-<keyId>` (key ids are 16 hex digits, never a secret). */
export const API_KEY_STREAM_PREFIX = 'apikey-';

/**
 * One `ApiKeyIndexed { keyId }` per key, appended before the key's own stream, so that listing the keys reads
 * this stream and the keys' streams rather than all of `$all` (`@eventstore/db-client` 6.2 filters reads of
 * `$all` on the client side). An entry whose key stream was never written (a create that failed halfway) is
 * left out of the list.
 */
export const API_KEY_INDEX_STREAM = 'apikeys';

type KeyEvent =
  | {
      type: 'ApiKeyCreated';
      data: {
        keyId: string;
        name: string;
        scopes: Scope[];
        party?: string;
        kdf: string;
        salt: string;
        hash: string;
        createdAt: string;
      };
    }
  | { type: 'ApiKeyRevoked'; data: { revokedAt: string } };

/** A key folded from its stream; `hash` and `salt` only, never the secret. */
export interface ApiKeyRecord {
  readonly principal: Principal;
  readonly kdf: string;
  readonly salt: Buffer;
  readonly hash: Buffer;
  readonly createdAt: string;
  readonly revoked: boolean;
}

/** Folds a key's events (pure); unknown event types are ignored, as every fold in the ledger does. */
export function evolveApiKey(
  record: ApiKeyRecord | undefined,
  event: { type: string; data: unknown },
): ApiKeyRecord | undefined {
  const e = event as KeyEvent;
  switch (e.type) {
    case 'ApiKeyCreated': {
      const { keyId, name, scopes, party, kdf, salt, hash, createdAt } = e.data;
      return {
        principal: { keyId, name, scopes, ...(party === undefined ? {} : { party }) },
        kdf,
        salt: Buffer.from(salt, 'base64'),
        hash: Buffer.from(hash, 'base64'),
        createdAt,
        revoked: false,
      };
    }
    case 'ApiKeyRevoked':
      return record === undefined ? undefined : { ...record, revoked: true };
    default:
      return record;
  }
}

export interface EventStoreKeysOptions {
  /** The node's own `state.db` keys: the bootstrap admin stays there (see the class comment). */
  readonly local: KeyStore;
  /** Wall clock for `createdAt`/`revokedAt` (default `Date.now`). */
  readonly clock?: () => number;
  /**
   * A clock that never steps back, for how long a result is trusted (default `performance.now`): a wall clock
   * stepped back (NTP, a restored VM) would otherwise keep a cached key valid until it caught up.
   */
  readonly monotonic?: () => number;
  /** scrypt cost of new keys (default 16384, as `KeyStore`). */
  readonly scryptCost?: number;
  /**
   * How long a verified key is trusted before its stream is read again (default 1000 ms): the bound on how
   * long a revocation made through another node takes to reach this one.
   */
  readonly recheckMs?: number;
  /** How many verified tokens are kept (default 10 000); the oldest is dropped first. */
  readonly cacheLimit?: number;
}

/**
 * API keys kept in the event store, one stream per key (`apikey-<keyId>`: `ApiKeyCreated` with the scrypt hash
 * and salt, never the secret; `ApiKeyRevoked`), so that a key created through one ingest node authenticates on
 * every node that shares the store (EventStoreDB across machines), without a second database.
 *
 * - Verifying reads the key's stream once and caches the result by SHA-256 of the token for `recheckMs`
 *   (1 s): a revocation made through another node takes effect there within that bound; through this node,
 *   at once, also for a check in flight when it was revoked. A token whose key id has no stream is refused
 *   without scrypt; a token that failed is refused for a minute without reading the store again. The trust
 *   window runs on a monotonic clock, so a wall clock stepped back does not extend it.
 * - The bootstrap admin key stays in the node's `state.db` (`local`), reinstated at every start from
 *   `LEDGER_ADMIN_KEY` as before: nodes given different admin keys would otherwise overwrite each other's.
 * - `lastUsedAt` is not tracked for these keys: it would be an append per key and minute on every node.
 *
 * @example
 * const keys = new EventStoreKeys(store, { local: state.keys });
 * const { key } = await keys.create({ name: 'msrc ingest', scopes: ['claims:write'] });
 */
export class EventStoreKeys implements ApiKeys {
  readonly #store: EventStore;
  readonly #local: KeyStore;
  readonly #clock: () => number;
  readonly #cost: number;
  readonly #recheckMs: number;
  readonly #cacheLimit: number;
  readonly #monotonic: () => number;
  readonly #verified = new Map<string, { readonly principal: Principal; readonly checkedAt: number }>();
  /** Tokens that failed, by SHA-256, until when (monotonic): a client retrying a bad key costs no read, no scrypt. */
  readonly #failed = new Map<string, number>();
  readonly #checking = new Map<string, Promise<Principal | undefined>>();
  /** When this node last revoked each key (monotonic): a check that started before must not cache its result. */
  readonly #revokedHere = new Map<string, number>();

  constructor(store: EventStore, options: EventStoreKeysOptions) {
    this.#store = store;
    this.#local = options.local;
    this.#clock = options.clock ?? Date.now;
    this.#cost = options.scryptCost ?? 16_384;
    this.#recheckMs = options.recheckMs ?? 1000;
    this.#cacheLimit = options.cacheLimit ?? 10_000;
    this.#monotonic = options.monotonic ?? (() => performance.now());
  }

  async #read(keyId: string): Promise<{ record: ApiKeyRecord | undefined; revision: ExpectedRevision }> {
    let record: ApiKeyRecord | undefined;
    let revision: ExpectedRevision = 'no_stream';
    try {
      for await (const event of this.#store.readStream(`${API_KEY_STREAM_PREFIX}${keyId}`)) {
        record = evolveApiKey(record, event);
        revision = event.revision;
      }
    } catch (error) {
      if (!isStreamNotFoundError(error)) throw error;
    }
    return { record, revision };
  }

  async create(input: CreateKeyInput): Promise<CreatedKey> {
    const { name, scopes, party } = CreateKeyInput.parse(input);
    const { keyId, key } = newKeyToken();
    const { kdf, salt, hash } = await newTokenHash(key, this.#cost);
    const createdAt = new Date(this.#clock()).toISOString();
    const unique = [...new Set(scopes)];
    await this.#store.appendToStream(API_KEY_INDEX_STREAM, [{ type: 'ApiKeyIndexed', data: { keyId } }]);
    await this.#store.appendToStream(
      `${API_KEY_STREAM_PREFIX}${keyId}`,
      [
        {
          type: 'ApiKeyCreated',
          data: {
            keyId,
            name,
            scopes: unique,
            ...(party === undefined ? {} : { party }),
            kdf,
            salt: salt.toString('base64'),
            hash: hash.toString('base64'),
            createdAt,
          },
        },
      ],
      // A fresh random id: the stream cannot exist, and an explicit revision keeps the append idempotent.
      { expectedRevision: 'no_stream' },
    );
    return { keyId, key, name, scopes: unique, ...(party === undefined ? {} : { party }), createdAt };
  }

  async verify(token: string): Promise<Principal | undefined> {
    const keyId = TOKEN.exec(token)?.[1];
    // The bootstrap admin (and any free-form LEDGER_ADMIN_KEY) lives in the node's own state.db.
    if (keyId === undefined || keyId === ADMIN_KEY_ID) return this.#local.verify(token);
    const digest = sha256(token);
    const started = this.#monotonic();
    const cached = this.#verified.get(digest);
    if (cached !== undefined && started - cached.checkedAt < this.#recheckMs) return cached.principal;
    this.#verified.delete(digest);
    const failedUntil = this.#failed.get(digest);
    if (failedUntil !== undefined && started < failedUntil) return undefined;
    this.#failed.delete(digest);
    return singleFlight(this.#checking, digest, () => this.#check(token, keyId, digest, started));
  }

  /** The store read and scrypt check of a token neither verified nor refused recently. */
  async #check(
    token: string,
    keyId: string,
    digest: string,
    started: number,
  ): Promise<Principal | undefined> {
    const { record } = await this.#read(keyId);
    const valid =
      record !== undefined &&
      !record.revoked &&
      timingSafeEqual(await hashToken(token, record.salt, record.kdf), record.hash);
    // A revocation through this node while the check ran: its result is stale.
    if (!valid || (this.#revokedHere.get(keyId) ?? Number.NEGATIVE_INFINITY) >= started) {
      // A revoked key or a wrong secret stays so. An unknown id is refused again for `recheckMs` only: a key
      // just created through another node may not be readable here yet (a lagging follower).
      const memory = record === undefined ? this.#recheckMs : FAILED_TTL_MS;
      remember(this.#failed, digest, started + memory, this.#cacheLimit);
      return undefined;
    }
    remember(this.#verified, digest, { principal: record.principal, checkedAt: started }, this.#cacheLimit);
    return record.principal;
  }

  /** The bootstrap admin and every active key of the event store, oldest first; never a secret. */
  async list(): Promise<KeyInfo[]> {
    const keyIds = new Set<string>();
    try {
      for await (const event of this.#store.readStream(API_KEY_INDEX_STREAM)) {
        keyIds.add((event.data as { keyId: string }).keyId);
      }
    } catch (error) {
      if (!isStreamNotFoundError(error)) throw error;
    }
    const records = await Promise.all([...keyIds].map(async (keyId) => (await this.#read(keyId)).record));
    const shared = records
      .filter((record): record is ApiKeyRecord => record !== undefined && !record.revoked)
      .map((record) => ({ ...record.principal, createdAt: record.createdAt }));
    const admin = this.#local.list().filter((key) => key.keyId === ADMIN_KEY_ID);
    return [...admin, ...shared].sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId),
    );
  }

  /** Revokes a key for every node (see `recheckMs`). `false` when there is no such active key. */
  async revoke(keyId: string): Promise<boolean> {
    for (;;) {
      const { record, revision } = await this.#read(keyId);
      if (record === undefined || record.revoked) return false;
      try {
        await this.#store.appendToStream(
          `${API_KEY_STREAM_PREFIX}${keyId}`,
          [{ type: 'ApiKeyRevoked', data: { revokedAt: new Date(this.#clock()).toISOString() } }],
          { expectedRevision: revision },
        );
      } catch (error) {
        // Another node revoked it since the read: read again, which then answers false.
        if (isWrongExpectedVersionError(error)) continue;
        throw error;
      }
      remember(this.#revokedHere, keyId, this.#monotonic(), this.#cacheLimit);
      for (const [digest, entry] of this.#verified)
        if (entry.principal.keyId === keyId) this.#verified.delete(digest);
      return true;
    }
  }
}
