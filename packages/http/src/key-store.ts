import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '@ledger/config';
import { PartyId, ShortText } from '@ledger/domain';
import { createFileExclusively } from '@ledger/exclusive-file';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { type Principal, Scope } from './scopes.js';

const scrypt = promisify(scryptCallback) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** The bootstrap admin's key id. */
export const ADMIN_KEY_ID = 'admin';
/** The file the generated bootstrap admin key is kept in, inside the data dir (mode 0600). */
export const ADMIN_KEY_FILE = 'admin.key';
/** Shortest `LEDGER_ADMIN_KEY` accepted. */
export const MIN_ADMIN_KEY_LENGTH = 32;

/** `ldg_<keyId>_<secret>`: the shape of every key the ledger issues. */
export const TOKEN = /^ldg_([a-z0-9]+)_([A-Za-z0-9_-]+)$/;
const HASH_BYTES = 64;
const CACHE_LIMIT = 10_000;
// Failed tokens are remembered briefly so that a client retrying a wrong key costs one indexed read, not scrypt.
const FAILED_LIMIT = 10_000;
/** How long a failed token is refused without scrypt (`EventStoreKeys` too). */
export const FAILED_TTL_MS = 60_000;

/** Sets `key` in a map bounded to `limit` entries, dropping the oldest first: the key caches' eviction. */
export function remember<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  map.delete(key);
  if (map.size >= limit) map.delete(map.keys().next().value!);
  map.set(key, value);
}
/**
 * Concurrent checks of one token share the first one's promise. A client opening 64 connections with one key
 * would otherwise start 64 scrypt hashes at once before the first lands in the cache: seconds of the thread
 * pool on two cores (`EventStoreKeys` too).
 */
export function singleFlight<V>(
  inFlight: Map<string, Promise<V>>,
  key: string,
  check: () => Promise<V>,
): Promise<V> {
  const running = inFlight.get(key);
  if (running !== undefined) return running;
  const started = check().finally(() => inFlight.delete(key));
  inFlight.set(key, started);
  return started;
}
// lastUsedAt is a hint for operators, not an audit trail: one write per key per minute keeps auth read-only.
const LAST_USED_RESOLUTION_MS = 60_000;

/** Body of `POST /v1/admin/keys`. */
export const CreateKeyInput = z.strictObject({
  name: ShortText,
  scopes: z.array(Scope).min(1),
  party: PartyId.optional(),
});
export type CreateKeyInput = z.infer<typeof CreateKeyInput>;

/** A key as just created: the only time its secret `key` is shown. */
export interface CreatedKey extends Principal {
  readonly key: string;
  readonly createdAt: string;
}

/**
 * What the auth plugin and the admin routes need of an API-key registry: `KeyStore` (state.db) and
 * `EventStoreKeys` (created keys in the event store, for nodes that share no data dir) both fit.
 */
export interface ApiKeys {
  create(input: CreateKeyInput): Promise<CreatedKey>;
  verify(token: string): Promise<Principal | undefined>;
  list(): KeyInfo[] | Promise<KeyInfo[]>;
  revoke(keyId: string): boolean | Promise<boolean>;
}

/** A key as listed: never its secret. */
export interface KeyInfo extends Principal {
  readonly createdAt: string;
  readonly lastUsedAt?: string | undefined;
}

/** What `ensureBootstrapAdmin` did: `key` is set only when it was just generated (print it once). */
export interface BootstrapAdmin {
  readonly keyId: string;
  readonly key?: string;
}

interface KeyRow {
  key_id: string;
  name: string;
  scopes: string;
  party: string | null;
  kdf: string;
  salt: Buffer;
  hash: Buffer;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  free_form: 0 | 1;
}

interface KeyStoreOptions {
  readonly clock: () => number;
  readonly scryptCost?: number | undefined;
}

function principalOf(row: KeyRow): Principal {
  return {
    keyId: row.key_id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as Scope[],
    ...(row.party === null ? {} : { party: row.party }),
  };
}

/** The scrypt hash of a token under a stored `kdf` (`scrypt:N:r:p`) and salt. */
export function hashToken(token: string, salt: Buffer, kdf: string): Promise<Buffer> {
  const [, n, r, p] = kdf.split(':').map(Number);
  return scrypt(token, salt, HASH_BYTES, { N: n!, r: r!, p: p!, maxmem: 256 * n! * r! + 1_048_576 });
}

/** A fresh salt and the scrypt hash of a new token at cost `cost`. */
export async function newTokenHash(
  token: string,
  cost: number,
): Promise<{ kdf: string; salt: Buffer; hash: Buffer }> {
  const kdf = `scrypt:${cost}:8:1`;
  const salt = randomBytes(16);
  return { kdf, salt, hash: await hashToken(token, salt, kdf) };
}

/** A new key's id and secret token. */
export function newKeyToken(): { keyId: string; key: string } {
  const keyId = randomBytes(8).toString('hex');
  return { keyId, key: `ldg_${keyId}_${randomBytes(32).toString('base64url')}` };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A token that matched a key's hash: valid while the key keeps that hash and is not revoked. */
interface VerifiedKey {
  readonly principal: Principal;
  readonly hash: Buffer;
}

/**
 * API keys in `state.db`. Keys look like `ldg_<keyId>_<secret>`; only an scrypt hash and its salt are
 * stored; verification compares in constant time and caches what it verified by SHA-256 of the token. Tokens
 * that cannot be a live key are refused without scrypt, and recent failures are remembered (bounded, 1 min).
 * Revocation takes effect at once, also for other processes (a cached key is re-checked by id, cheaply).
 *
 * Obtain it from `StateStore.open(path).keys`.
 */
export class KeyStore {
  readonly #db: Database.Database;
  readonly #clock: () => number;
  readonly #cost: number;
  readonly #cache = new Map<string, VerifiedKey>();
  readonly #failed = new Map<string, { readonly hash: Buffer; readonly expiresAt: number }>();
  readonly #lastUsedWritten = new Map<string, number>();
  readonly #checking = new Map<string, Promise<VerifiedKey | undefined>>();
  readonly #byId: Database.Statement<[string], KeyRow>;
  readonly #current: Database.Statement<[string], Pick<KeyRow, 'hash' | 'revoked_at'>>;
  readonly #touch: Database.Statement<[string, string]>;

  /** @internal use `StateStore.open(path).keys`. */
  constructor(db: Database.Database, options: KeyStoreOptions) {
    this.#db = db;
    this.#clock = options.clock;
    this.#cost = options.scryptCost ?? 16_384;
    this.#byId = db.prepare('SELECT * FROM api_keys WHERE key_id = ?');
    this.#current = db.prepare('SELECT hash, revoked_at FROM api_keys WHERE key_id = ?');
    this.#touch = db.prepare('UPDATE api_keys SET last_used_at = ? WHERE key_id = ?');
  }

  #now(): string {
    return new Date(this.#clock()).toISOString();
  }

  #hash(token: string, salt: Buffer, kdf: string): Promise<Buffer> {
    return hashToken(token, salt, kdf);
  }

  #newHash(token: string): Promise<{ kdf: string; salt: Buffer; hash: Buffer }> {
    return newTokenHash(token, this.#cost);
  }

  /**
   * Creates a key. The returned `key` is the only copy of the secret.
   *
   * @example
   * ```ts
   * const { key } = await keys.create({ name: 'msrc ingest', scopes: ['claims:write'], party: 'microsoft' });
   * ```
   */
  async create(input: CreateKeyInput): Promise<CreatedKey> {
    const { name, scopes, party } = CreateKeyInput.parse(input);
    const { keyId, key } = newKeyToken();
    const { kdf, salt, hash } = await this.#newHash(key);
    const createdAt = this.#now();
    const unique = [...new Set(scopes)];
    this.#db
      .prepare(
        `INSERT INTO api_keys (key_id, name, scopes, party, kdf, salt, hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(keyId, name, JSON.stringify(unique), party ?? null, kdf, salt, hash, createdAt);
    return { keyId, key, name, scopes: unique, ...(party === undefined ? {} : { party }), createdAt };
  }

  /**
   * The principal a bearer token stands for, or `undefined` when it is unknown, malformed or revoked.
   *
   * scrypt runs only for a token that could be a live key: shaped `ldg_<keyId>_<secret>` with a known,
   * unrevoked key id, or (when `LEDGER_ADMIN_KEY` is free-form) at least 32 characters. A token that failed
   * against the key's current hash within the last minute fails again without scrypt.
   *
   * @example
   * ```ts
   * const principal = await keys.verify(token); // { keyId, name, scopes, party? } | undefined
   * ```
   */
  async verify(token: string): Promise<Principal | undefined> {
    const digest = sha256(token);
    const verified =
      this.#cache.get(digest) ??
      (await singleFlight(this.#checking, digest, () => this.#check(token, digest)));
    if (verified === undefined) return undefined;
    // One indexed read instead of scrypt: a key revoked or replaced by any process, also while a check it
    // joined was running, stops working at once.
    const row = this.#current.get(verified.principal.keyId);
    if (row === undefined || row.revoked_at !== null || !row.hash.equals(verified.hash)) {
      this.#cache.delete(digest);
      return undefined;
    }
    this.#touchLastUsed(verified.principal.keyId);
    return verified.principal;
  }

  /** The scrypt check of a token not in the cache; what it verified is cached. */
  async #check(token: string, digest: string): Promise<VerifiedKey | undefined> {
    const shaped = TOKEN.exec(token);
    // Any other shape can only be a free-form admin key, which is at least MIN_ADMIN_KEY_LENGTH long.
    const keyId = shaped?.[1] ?? (token.length >= MIN_ADMIN_KEY_LENGTH ? ADMIN_KEY_ID : undefined);
    if (keyId === undefined) return undefined;
    const row = this.#byId.get(keyId);
    if (row === undefined || row.revoked_at !== null) return undefined;
    if (shaped === null && row.free_form === 0) return undefined;
    if (this.#failedBefore(digest, row.hash)) return undefined;
    const hash = await this.#hash(token, row.salt, row.kdf);
    if (!timingSafeEqual(hash, row.hash)) {
      this.#rememberFailure(digest, row.hash);
      return undefined;
    }
    const verified = { principal: principalOf(row), hash: row.hash };
    remember(this.#cache, digest, verified, CACHE_LIMIT);
    return verified;
  }

  /** Whether `digest` failed against this very `hash` (the key not replaced since) within FAILED_TTL_MS. */
  #failedBefore(digest: string, hash: Buffer): boolean {
    const failed = this.#failed.get(digest);
    if (failed === undefined) return false;
    if (failed.expiresAt > this.#clock() && failed.hash.equals(hash)) return true;
    this.#failed.delete(digest);
    return false;
  }

  #rememberFailure(digest: string, hash: Buffer): void {
    remember(this.#failed, digest, { hash, expiresAt: this.#clock() + FAILED_TTL_MS }, FAILED_LIMIT);
  }

  #touchLastUsed(keyId: string): void {
    const now = this.#clock();
    const last = this.#lastUsedWritten.get(keyId);
    if (last !== undefined && now - last < LAST_USED_RESOLUTION_MS) return;
    this.#lastUsedWritten.set(keyId, now);
    this.#touch.run(new Date(now).toISOString(), keyId);
  }

  /** Every key that is not revoked, oldest first; never a secret. */
  list(): KeyInfo[] {
    const rows = this.#db
      .prepare<[], KeyRow>('SELECT * FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, key_id')
      .all();
    return rows.map((row) => ({
      ...principalOf(row),
      createdAt: row.created_at,
      ...(row.last_used_at === null ? {} : { lastUsedAt: row.last_used_at }),
    }));
  }

  /** Revokes a key at once. `false` when there is no such active key. */
  revoke(keyId: string): boolean {
    const result = this.#db
      .prepare('UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL')
      .run(this.#now(), keyId);
    this.#forget(keyId);
    return result.changes > 0;
  }

  #forget(keyId: string): void {
    for (const [digest, entry] of this.#cache)
      if (entry.principal.keyId === keyId) this.#cache.delete(digest);
  }

  /**
   * Makes sure the bootstrap admin key (id `admin`, every scope) works: `adminKey` (from `LEDGER_ADMIN_KEY`)
   * when given, else the key kept in `<dataDir>/admin.key`, else a new key written there with mode 0600.
   * Returns the key only when it was just generated, so that the caller prints it once.
   *
   * @throws ConfigError when `adminKey` is shorter than 32 characters or looks like another key's token.
   * @example
   * ```ts
   * const { key } = await keys.ensureBootstrapAdmin({ adminKey: config.adminKey, dataDir: config.dataDir });
   * if (key !== undefined) process.stdout.write(`bootstrap admin key (shown once): ${key}\n`);
   * ```
   */
  async ensureBootstrapAdmin(options: {
    adminKey?: string | undefined;
    dataDir: string;
  }): Promise<BootstrapAdmin> {
    const { adminKey, dataDir } = options;
    if (adminKey !== undefined) {
      const otherId = TOKEN.exec(adminKey)?.[1];
      if (adminKey.length < MIN_ADMIN_KEY_LENGTH || (otherId !== undefined && otherId !== ADMIN_KEY_ID)) {
        throw new ConfigError([
          {
            variable: 'LEDGER_ADMIN_KEY',
            message: `must be at least ${MIN_ADMIN_KEY_LENGTH} characters and not look like ldg_<other id>_…`,
          },
        ]);
      }
      await this.#installAdmin(adminKey);
      return { keyId: ADMIN_KEY_ID };
    }
    const file = join(dataDir, ADMIN_KEY_FILE);
    const kept = await readFile(file, 'utf8').then(
      (text) => text.trim(),
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      },
    );
    if (kept !== undefined && kept !== '') {
      await this.#installAdmin(kept);
      return { keyId: ADMIN_KEY_ID };
    }
    const key = `ldg_${ADMIN_KEY_ID}_${randomBytes(32).toString('base64url')}`;
    await mkdir(dataDir, { recursive: true });
    // An empty file (a crash of an older build between creating and writing it) holds no key: replace it.
    if (kept === '')
      await unlink(file).catch((error: NodeJS.ErrnoException) => {
        // Another service starting on this data dir replaced it first.
        if (error.code !== 'ENOENT') throw error;
      });
    if (!createFileExclusively(file, `${key}\n`, { mode: 0o600 })) {
      // Another service on this data dir created it first (they start together): its key is the admin key.
      await this.#installAdmin((await readFile(file, 'utf8')).trim());
      return { keyId: ADMIN_KEY_ID };
    }
    await this.#installAdmin(key);
    return { keyId: ADMIN_KEY_ID, key };
  }

  async #installAdmin(key: string): Promise<void> {
    const freeForm = TOKEN.test(key) ? 0 : 1;
    const row = this.#byId.get(ADMIN_KEY_ID);
    if (row !== undefined) {
      const hash = await this.#hash(key, row.salt, row.kdf);
      if (timingSafeEqual(hash, row.hash)) {
        // Settles the flag of an admin installed before the column existed.
        if (row.free_form !== freeForm) {
          this.#db.prepare('UPDATE api_keys SET free_form = ? WHERE key_id = ?').run(freeForm, ADMIN_KEY_ID);
        }
        return;
      }
    }
    const { kdf, salt, hash } = await this.#newHash(key);
    this.#db
      .prepare(
        `INSERT INTO api_keys (key_id, name, scopes, party, kdf, salt, hash, created_at, free_form)
         VALUES (?, 'bootstrap admin', '["admin"]', NULL, ?, ?, ?, ?, ?)
         ON CONFLICT (key_id) DO UPDATE SET kdf = excluded.kdf, salt = excluded.salt, hash = excluded.hash,
           scopes = excluded.scopes, party = NULL, revoked_at = NULL, free_form = excluded.free_form`,
      )
      .run(ADMIN_KEY_ID, kdf, salt, hash, this.#now(), freeForm);
    this.#forget(ADMIN_KEY_ID);
  }
}
