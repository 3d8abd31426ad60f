import { createHash } from 'node:crypto';
import {
  type EventStore,
  type ExpectedRevision,
  isStreamNotFoundError,
  isWrongExpectedVersionError,
  type RecordedEvent,
} from '@ledger/event-store';
import {
  type BeginInput,
  type BeginResult,
  DEFAULT_IDEMPOTENCY_TTL_MS,
  type IdempotencyScope,
  type Ownership,
  STALE_IN_FLIGHT_MS,
  type StoredResponse,
} from './idempotency-store.js';

/**
 * What the ingest routes need of idempotency records, wherever they live: `IdempotencyStore` (state.db,
 * synchronous) and `EventStoreIdempotency` (in the event store, asynchronous) both fit.
 */
export interface IdempotencyRecords {
  begin(input: BeginInput): BeginResult | Promise<BeginResult>;
  complete(input: IdempotencyScope & Ownership & StoredResponse): void | Promise<void>;
  abandon(scope: IdempotencyScope & Ownership): void | Promise<void>;
}

/** The stream of one idempotency record: a hash, so keys and routes never shape stream names. */
export const IDEMPOTENCY_STREAM_PREFIX = 'idempotency-';

export function idempotencyStream(scope: IdempotencyScope): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([scope.keyId, scope.route, scope.idempotencyKey]))
    .digest('hex');
  return `${IDEMPOTENCY_STREAM_PREFIX}${hash}`;
}

type RecordEvent =
  | {
      type: 'IdempotencyBegun';
      data: { requestHash: string; createdAt: number; lockedAt: number; expiresAt: number };
    }
  | { type: 'IdempotencyTakenOver'; data: { lockedAt: number } }
  | { type: 'IdempotencyCompleted'; data: StoredResponse }
  | { type: 'IdempotencyAbandoned'; data: Record<string, never> };

/** A record folded from its stream. */
export type IdempotencyRecordState =
  | { readonly state: 'none' }
  | {
      readonly state: 'in-flight' | 'completed';
      readonly requestHash: string;
      readonly createdAt: number;
      readonly lockedAt: number;
      readonly expiresAt: number;
      readonly response?: StoredResponse;
    };

/** Folds a record's events (pure); unknown event types are ignored, as every fold in the ledger does. */
export function evolveIdempotencyRecord(
  state: IdempotencyRecordState,
  event: { type: string; data: unknown },
): IdempotencyRecordState {
  const e = event as RecordEvent;
  switch (e.type) {
    case 'IdempotencyBegun':
      return { state: 'in-flight', ...e.data };
    case 'IdempotencyTakenOver':
      return state.state === 'in-flight' ? { ...state, lockedAt: e.data.lockedAt } : state;
    case 'IdempotencyCompleted':
      return state.state === 'in-flight' ? { ...state, state: 'completed', response: e.data } : state;
    case 'IdempotencyAbandoned':
      return state.state === 'in-flight' ? { state: 'none' } : state;
    default:
      return state;
  }
}

function isExpired(record: Exclude<IdempotencyRecordState, { state: 'none' }>, now: number): boolean {
  return (
    record.expiresAt <= now && (record.state === 'completed' || now - record.lockedAt >= STALE_IN_FLIGHT_MS)
  );
}

export interface EventStoreIdempotencyOptions {
  readonly clock?: () => number;
  readonly ttlMs?: number;
  /** How often `begin` re-reads after losing a race before it answers `in-flight`. Default 5. */
  readonly maxRetries?: number;
}

/**
 * Idempotency records kept in the event store itself, one stream per record (`idempotency-<sha256>`), so that
 * every ingest node that shares the store (EventStoreDB across machines) sees every record. Claiming a key is
 * an append with the expected revision the node just read: of two nodes beginning the same key at once,
 * exactly one append succeeds and the other re-reads and answers `in-flight` (409) or `replay`. Completion,
 * abandonment and the take-over of a stale in-flight record are appended the same way. Same semantics as
 * `IdempotencyStore`: errors are not stored (abandon), records expire after their TTL, ids derived from
 * `createdAt` survive a take-over. Expired records are ignored by the fold; their streams stay until the
 * store's own retention removes them (EventStoreDB: `$maxAge` on the `idempotency-` streams).
 *
 * @example
 * const idempotency = new EventStoreIdempotency(store, { ttlMs: config.idempotencyTtlMs });
 * const begun = await idempotency.begin({ keyId, route, idempotencyKey, requestHash: requestHash(body) });
 */
export class EventStoreIdempotency implements IdempotencyRecords {
  readonly #store: EventStore;
  readonly #clock: () => number;
  readonly #ttlMs: number;
  readonly #maxRetries: number;

  constructor(store: EventStore, options: EventStoreIdempotencyOptions = {}) {
    this.#store = store;
    this.#clock = options.clock ?? Date.now;
    this.#ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
    this.#maxRetries = options.maxRetries ?? 5;
  }

  async #read(stream: string): Promise<{ record: IdempotencyRecordState; revision: ExpectedRevision }> {
    let record: IdempotencyRecordState = { state: 'none' };
    let revision: ExpectedRevision = 'no_stream';
    try {
      for await (const event of this.#store.readStream(stream) as AsyncIterable<RecordedEvent>) {
        record = evolveIdempotencyRecord(record, event);
        revision = event.revision;
      }
    } catch (error) {
      if (!isStreamNotFoundError(error)) throw error;
    }
    return { record, revision };
  }

  async #append(stream: string, event: RecordEvent, expectedRevision: ExpectedRevision): Promise<boolean> {
    try {
      await this.#store.appendToStream(stream, [event], { expectedRevision });
      return true;
    } catch (error) {
      if (isWrongExpectedVersionError(error)) return false;
      throw error;
    }
  }

  async begin(input: BeginInput): Promise<BeginResult> {
    const stream = idempotencyStream(input);
    for (let attempt = 0; ; attempt += 1) {
      const now = this.#clock();
      const { record, revision } = await this.#read(stream);
      let won: boolean;
      let result: BeginResult;
      if (record.state === 'none' || isExpired(record, now)) {
        const ttl = input.ttlMs ?? this.#ttlMs;
        won = await this.#append(
          stream,
          {
            type: 'IdempotencyBegun',
            data: { requestHash: input.requestHash, createdAt: now, lockedAt: now, expiresAt: now + ttl },
          },
          revision,
        );
        result = { kind: 'new', createdAt: now, lockedAt: now, resumed: false };
      } else if (record.requestHash !== input.requestHash) {
        return { kind: 'mismatch' };
      } else if (record.state === 'completed') {
        return { kind: 'replay', ...record.response! };
      } else if (now - record.lockedAt < STALE_IN_FLIGHT_MS) {
        return { kind: 'in-flight' };
      } else {
        won = await this.#append(stream, { type: 'IdempotencyTakenOver', data: { lockedAt: now } }, revision);
        result = { kind: 'new', createdAt: record.createdAt, lockedAt: now, resumed: true };
      }
      if (won) return result;
      // Another node appended to this record since the read: look again (it is most likely in flight now).
      if (attempt >= this.#maxRetries) return { kind: 'in-flight' };
    }
  }

  async complete(input: IdempotencyScope & Ownership & StoredResponse): Promise<void> {
    const stream = idempotencyStream(input);
    const { record, revision } = await this.#read(stream);
    if (!ownedBy(record, input)) return;
    const { status, body, headers } = input;
    // A conflict means another node took the record over (it was stale) or finished it: theirs stands.
    await this.#append(stream, { type: 'IdempotencyCompleted', data: { status, body, headers } }, revision);
  }

  async abandon(scope: IdempotencyScope & Ownership): Promise<void> {
    const stream = idempotencyStream(scope);
    const { record, revision } = await this.#read(stream);
    if (!ownedBy(record, scope)) return;
    await this.#append(stream, { type: 'IdempotencyAbandoned', data: {} }, revision);
  }
}

/** Whether the record is in flight and still the request's that `owner` names (see `Ownership`). */
function ownedBy(record: IdempotencyRecordState, owner: Ownership): boolean {
  return record.state === 'in-flight' && record.lockedAt === owner.lockedAt;
}
