import { createHash } from 'node:crypto';
import { uuidV7 } from '@ledger/event-store';

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
 * A UUIDv7 derived from an idempotent request: the 48-bit `unix_ts_ms` is `createdAt`, and all 74 other bits
 * (`rand_a` and `rand_b`) come from SHA-256 of the seed and the purpose, with the version and variant bits set
 * on the digest. A retry after a crash between the append and the stored response derives the same ids, so the
 * store sees the events it already holds and returns the original result instead of appending twice.
 *
 * @example
 * ```ts
 * derivedId({ keyId: 'k1', route: 'POST /v1/claims', idempotencyKey: 'abc', createdAt: 1_700_000_000_000 }, 'claim');
 * ```
 */
export function derivedId(seed: IdSeed, purpose: IdPurpose): string {
  const bytes = createHash('sha256')
    .update(JSON.stringify([purpose, seed.keyId, seed.route, seed.idempotencyKey, seed.createdAt]))
    .digest()
    .subarray(0, 16);
  bytes.writeUIntBE(seed.createdAt, 0, 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f); // version 7
  bytes[8] = 0x80 | (bytes[8]! & 0x3f); // variant 10xx (RFC 9562)
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A fresh UUIDv7 for a request without an idempotency key. */
export function newId(): string {
  return uuidV7();
}
