import { randomUUID } from 'node:crypto';
import { type AllStreamSubscription, EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import {
  type AppendOptions,
  type AppendResult,
  type EventData,
  type EventStore,
  EventStoreClosedError,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeToAllOptions,
  type Subscription,
  toJson,
  validateAppend,
} from '@ledger/event-store';
import {
  fromEsdbError,
  isAt,
  passes,
  readAllPlan,
  subscriptionStart,
  toEsdbExpectedRevision,
  toEsdbFilter,
  toPortEvent,
  toStoredName,
  validateEsdbEvents,
} from './esdb-mapping.js';

/** The part of `EventStoreDBClient` the adapter uses (so tests can hand it a stand-in). */
export type EsdbClient = Pick<
  EventStoreDBClient,
  'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'
>;

export interface EventStoreDbEventStoreOptions {
  /** e.g. `esdb://localhost:2113?tls=false` (`EVENTSTOREDB_URL`). Ignored when `client` is given. */
  readonly connectionString?: string;
  /** A client to use instead of connecting; the store then does not dispose it on close. */
  readonly client?: EsdbClient;
  /**
   * Prefix of every stream this store writes and the only streams it reads (default none). Lets several
   * ledgers, or the contract suite's isolated stores, share one server.
   */
  readonly namespace?: string;
  /** How `subscribeToAll` resubscribes after the client's subscription fails (defaults below). */
  readonly resubscribe?: ResubscribeOptions;
}

export interface ResubscribeOptions {
  /** Delay before the first resubscription, doubled per consecutive failure (default 100 ms). */
  readonly initialDelayMs?: number;
  /** Cap of the delay (default 5000 ms). Each delay is jittered down to half of it. */
  readonly maxDelayMs?: number;
  /**
   * Consecutive failures, with no event received in between, after which the last error is thrown to the
   * iterator (default 8).
   */
  readonly maxAttempts?: number;
}

/**
 * Client errors that resubscribing cannot fix: the same call would fail the same way. Everything else
 * (unavailable, deadline-exceeded, cancelled by the server, not-leader, unknown, plain socket errors) is retried.
 */
const PERMANENT_ERROR_TYPES = new Set([
  'access-denied',
  'not-found',
  'stream-not-found',
  'stream-deleted',
  'no-stream',
  'invalid-argument',
  'unsupported',
  'user-not-found',
]);

/** Whether an error of the client's subscription is worth resubscribing for. */
export function isRetryableSubscriptionError(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return !(typeof type === 'string' && PERMANENT_ERROR_TYPES.has(type));
}

/**
 * The event store on EventStoreDB/KurrentDB through `@eventstore/db-client`. Revisions, positions, expected
 * revisions and error types map one to one (the port was shaped after this client); the differences are
 * handled here: `readAll` filters client-side (this client has no server-side filter for reads), a
 * backwards `readAll` from a position includes the event at that position (EventStoreDB's excludes it), and
 * event ids must be UUIDs. Event-id idempotency is EventStoreDB's, per stream: an id reused in another
 * stream is not refused (see the package README).
 *
 * @example
 * const store = new EventStoreDbEventStore({ connectionString: 'esdb://localhost:2113?tls=false' });
 * await store.appendToStream('claim-1', [{ type: 'ClaimMade', data }], { expectedRevision: 'no_stream' });
 */
export class EventStoreDbEventStore implements EventStore {
  readonly #client: EsdbClient;
  readonly #ownsClient: boolean;
  readonly #namespace: string;
  readonly #resubscribe: Required<ResubscribeOptions>;
  readonly #subscriptions = new Set<Subscription>();
  readonly #pending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: EventStoreDbEventStoreOptions) {
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      if (options.connectionString === undefined) {
        throw new Error('EventStoreDbEventStore needs a connectionString or a client');
      }
      this.#client = EventStoreDBClient.connectionString(options.connectionString);
      this.#ownsClient = true;
    }
    this.#namespace = options.namespace ?? '';
    this.#resubscribe = {
      initialDelayMs: options.resubscribe?.initialDelayMs ?? 100,
      maxDelayMs: options.resubscribe?.maxDelayMs ?? 5000,
      maxAttempts: options.resubscribe?.maxAttempts ?? 8,
    };
  }

  #assertOpen(): void {
    if (this.#closed) throw new EventStoreClosedError();
  }

  async appendToStream(
    streamName: string,
    events: readonly EventData[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.#assertOpen();
    const expected = options.expectedRevision ?? 'any';
    validateAppend(streamName, events, expected);
    validateEsdbEvents(events);
    const proposed = events.map((event) =>
      jsonEvent({
        id: event.id ?? randomUUID(),
        type: event.type,
        // Serialised here first so that what JSON cannot carry (bigints, cycles) is refused as by every adapter.
        data: JSON.parse(toJson(event.data, 'data')),
        metadata: event.metadata === undefined ? undefined : JSON.parse(toJson(event.metadata, 'metadata')),
      }),
    );
    const work = this.#append(streamName, proposed, expected);
    this.#pending.add(work);
    try {
      return await work;
    } finally {
      this.#pending.delete(work);
    }
  }

  async #append(
    streamName: string,
    proposed: ReturnType<typeof jsonEvent>[],
    expected: NonNullable<AppendOptions['expectedRevision']>,
  ): Promise<AppendResult> {
    const stored = toStoredName(this.#namespace, streamName);
    let result: Awaited<ReturnType<EsdbClient['appendToStream']>>;
    try {
      result = await this.#client.appendToStream(stored, proposed, {
        expectedRevision: toEsdbExpectedRevision(expected),
      });
    } catch (error) {
      throw fromEsdbError(error, streamName, expected);
    }
    if (result.position !== undefined) {
      return { nextExpectedRevision: result.nextExpectedRevision, position: result.position };
    }
    // An idempotent replay may come back without a position: the original's is that of the stream's event.
    for await (const event of this.readStream(streamName, {
      fromRevision: result.nextExpectedRevision,
      maxCount: 1,
    })) {
      return { nextExpectedRevision: result.nextExpectedRevision, position: event.position };
    }
    throw new Error(`EventStoreDB acknowledged an append to ${streamName} without a position`);
  }

  async *readStream(streamName: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    this.#assertOpen();
    const backwards = options.direction === 'backwards';
    const read = this.#client.readStream(toStoredName(this.#namespace, streamName), {
      direction: backwards ? 'backwards' : 'forwards',
      fromRevision: options.fromRevision ?? (backwards ? 'end' : 'start'),
      ...(options.maxCount === undefined ? {} : { maxCount: options.maxCount }),
    });
    try {
      for await (const resolved of read) {
        this.#assertOpen();
        const event = toPortEvent(resolved.event, this.#namespace);
        if (event !== undefined) yield event;
      }
    } catch (error) {
      throw fromEsdbError(error, streamName);
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    this.#assertOpen();
    const maxCount = options.maxCount ?? Number.POSITIVE_INFINITY;
    if (maxCount <= 0) return;
    const plan = readAllPlan(options.direction, options.fromPosition);
    const keep = (storedStream: string, type: string) =>
      passes(options.filter, this.#namespace, storedStream, type);
    let count = 0;
    if (plan.includeExactly !== undefined) {
      const at = plan.includeExactly;
      for await (const resolved of this.#client.readAll({
        fromPosition: at,
        direction: 'forwards',
        maxCount: 1,
      })) {
        const event = resolved.event;
        if (event !== undefined && isAt(event, at) && keep(event.streamId, event.type)) {
          const mapped = toPortEvent(event, this.#namespace);
          if (mapped !== undefined) {
            yield mapped;
            count += 1;
          }
        }
      }
    }
    if (count >= maxCount) return;
    // No maxCount for the server: it would count events the client-side filter then drops.
    for await (const resolved of this.#client.readAll({
      fromPosition: plan.fromPosition,
      direction: plan.direction,
    })) {
      this.#assertOpen();
      const event = resolved.event;
      if (event === undefined || !keep(event.streamId, event.type)) continue;
      const mapped = toPortEvent(event, this.#namespace);
      if (mapped === undefined) continue;
      yield mapped;
      count += 1;
      if (count >= maxCount) return;
    }
  }

  /**
   * A live subscription that survives dropped connections: when the client's subscription fails (and not
   * because of `unsubscribe`), it is opened again from the position of the last event the client delivered
   * (exclusive), or from the original start if none was, after a jittered backoff. Consumers see no gap and
   * no duplicate. The last error is thrown to the iterator after `maxAttempts` consecutive failures with no
   * event in between, or at once for errors retrying cannot fix (see `isRetryableSubscriptionError`).
   */
  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    this.#assertOpen();
    const namespace = this.#namespace;
    const client = this.#client;
    const retry = this.#resubscribe;
    const filter = toEsdbFilter(options.filter, namespace);
    let resumeFrom = subscriptionStart(options.fromPosition);
    const open = (): AllStreamSubscription => client.subscribeToAll({ fromPosition: resumeFrom, filter });
    let source: AllStreamSubscription = open();
    let stopped = false;
    let wake: (() => void) | undefined;
    const subscriptions = this.#subscriptions;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      subscriptions.delete(subscription);
      wake?.();
      await source.unsubscribe().catch(() => undefined);
    };
    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    async function* iterate(): AsyncGenerator<RecordedEvent> {
      let failures = 0;
      try {
        while (!stopped) {
          try {
            for await (const resolved of source) {
              if (stopped) return;
              const event = resolved.event;
              if (event === undefined) continue;
              // Any event the server sent moves the resume point, even one this store does not return.
              if (event.position !== undefined) resumeFrom = event.position;
              failures = 0;
              if (!passes(options.filter, namespace, event.streamId, event.type)) continue;
              const mapped = toPortEvent(event, namespace);
              if (mapped !== undefined) yield mapped;
            }
            return;
          } catch (error) {
            // Cancelling the call is how unsubscribe ends it: that is an end, not a failure.
            if (stopped) return;
            failures += 1;
            if (!isRetryableSubscriptionError(error) || failures >= retry.maxAttempts) throw error;
            const ceiling = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (failures - 1));
            await pause(ceiling / 2 + Math.random() * (ceiling / 2));
            if (stopped) return;
            source = open();
          }
        }
      } finally {
        await stop();
      }
    }
    const generator = iterate();
    const subscription: Subscription = {
      [Symbol.asyncIterator]: () => generator,
      unsubscribe: stop,
    };
    subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.unsubscribe()));
    if (this.#ownsClient) await this.#client.dispose();
  }
}
