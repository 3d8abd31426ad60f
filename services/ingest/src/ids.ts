import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/** What a derived id is for: the same request derives one claim id and one event id. */
export type IdPurpose = 'claim' | 'event';

/** Where an idempotent request's ids come from: the writing key, the route, the client's key and the record. */
export interface IdSeed {
  readonly keyId: string;
  readonly route: string;
  readonly idempotencyKey: string;
  /** The idempotency record's creation time (ms): kept when a stale record is taken over. */
  readonly createdAt: number;
}

/**
 * A UUIDv7 derived from an idempotent request: `msecs = createdAt`, random bits from SHA-256 of the seed. A
 * retry after a crash between the append and the stored response derives the same ids, so the store sees
 * the events it already holds and returns the original result instead of appending twice.
 *
 * @example
 * ```ts
 * derivedId({ keyId: 'k1', route: 'POST /v1/claims', idempotencyKey: 'abc', createdAt: 1_700_000_000_000 }, 'claim');
 * ```
 */
export function derivedId(seed: IdSeed, purpose: IdPurpose): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([purpose, seed.keyId, seed.route, seed.idempotencyKey, seed.createdAt]))
    .digest();
  return uuidv7({ msecs: seed.createdAt, random: new Uint8Array(digest.subarray(0, 16)), seq: 0 });
}

/** A fresh UUIDv7 for a request without an idempotency key. */
export function newId(): string {
  return uuidv7();
}
