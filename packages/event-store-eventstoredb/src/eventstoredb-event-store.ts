import { randomUUID } from 'node:crypto';
import { type AllStreamSubscription, EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import {
  type AppendOptions,
  type AppendResult,
  DuplicateEventIdError,
  type EventData,
  type EventStore,
  EventStoreClosedError,
  isStreamNotFoundError,
  isWrongExpectedVersionError,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  StreamQueue,
  type SubscribeToAllOptions,
  type Subscription,
  toJson,
  validateAppend,
  WrongExpectedVersionError,
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

/** How often an `any`/`stream_exists` append is resolved again after a concurrent writer won the race. */
const RESOLVED_APPEND_ATTEMPTS = 10;

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
  readonly #relaxed = new StreamQueue();
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
    const chosen = events.findIndex((event) => event.id !== undefined);
    const work =
      expected === 'any' || expected === 'stream_exists'
        ? // One resolved append per stream at a time from this handle: concurrent ones would all resolve the
          // same revision and all but one conflict.
          this.#relaxed.run(streamName, () => this.#appendResolved(streamName, proposed, expected, chosen))
        : this.#appendExactly(streamName, proposed, expected, expected);
    this.#pending.add(work);
    try {
      return await work;
    } finally {
      this.#pending.delete(work);
    }
  }

  /**
   * Every append reaches the server with an explicit expected revision (`no_stream` or a number): only then
   * does EventStoreDB guarantee that re-appending the same event ids is answered with the original result
   * instead of storing them twice. With `any` or `stream_exists` its check is best effort (a bounded cache of
   * recent ids), so a retry after a lost acknowledgement could duplicate events. Those two are therefore
   * resolved here first (`#resolve`), and a conflict with the resolved revision is retried, because the caller
   * asked for no particular revision and a concurrent writer is no reason to fail its append.
   */
  async #appendResolved(
    streamName: string,
    proposed: ReturnType<typeof jsonEvent>[],
    expected: 'any' | 'stream_exists',
    chosen: number,
  ): Promise<AppendResult> {
    for (let attempt = 1; ; attempt += 1) {
      const resolved = await this.#resolve(streamName, proposed, chosen, expected);
      try {
        return await this.#appendExactly(streamName, proposed, resolved.expected, expected);
      } catch (error) {
        if (!isWrongExpectedVersionError(error)) throw error;
        if (resolved.replayOf !== undefined) {
          // The first id is stored right after `resolved.expected`, but the server did not see the same
          // events there: a partial overlap with an earlier append, which no retry can turn into a replay.
          throw new DuplicateEventIdError(
            resolved.replayOf,
            `already stored in ${streamName}, followed by other events than this append's`,
          );
        }
        // Bounded: writers that keep winning the race for minutes mean something else is wrong.
        if (attempt >= RESOLVED_APPEND_ATTEMPTS) throw error;
        // Writers in other processes: back off with jitter so that two of them do not keep colliding.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** attempt)));
      }
    }
  }

  /**
   * The explicit revision to send for an `any`/`stream_exists` append: the stream's last revision, or, when the
   * append's first event id is already in the stream (a retry), the revision just before it, so that the
   * server recognises the replay and answers with the original result. The whole stream is scanned backwards
   * for the id only when the caller chose the ids (generated ones cannot be stored yet); the ledger's own
   * writers all pass explicit revisions, so this path serves tools and tests, on short streams.
   */
  async #resolve(
    streamName: string,
    proposed: ReturnType<typeof jsonEvent>[],
    chosen: number,
    expected: 'any' | 'stream_exists',
  ): Promise<{ expected: 'no_stream' | bigint; replayOf?: string }> {
    // The first id the caller chose (generated ones cannot be stored yet), and where it sits in the append.
    const callerChoseIds = chosen >= 0;
    const firstId = callerChoseIds ? proposed[chosen]!.id : '';
    const wanted = firstId.toLowerCase();
    let last: bigint | undefined;
    try {
      for await (const event of this.readStream(streamName, {
        direction: 'backwards',
        ...(callerChoseIds ? {} : { maxCount: 1 }),
      })) {
        last ??= event.revision;
        if (callerChoseIds && event.id.toLowerCase() === wanted) {
          const before = event.revision - BigInt(chosen) - 1n;
          return { expected: before < 0n ? 'no_stream' : before, replayOf: firstId };
        }
      }
    } catch (error) {
      if (!isStreamNotFoundError(error)) throw error;
    }
    if (last !== undefined) return { expected: last };
    if (expected === 'stream_exists') throw new WrongExpectedVersionError(streamName, expected, 'no_stream');
    return { expected: 'no_stream' };
  }

  /** One append with an explicit revision; errors are reported against what the caller expected. */
  async #appendExactly(
    streamName: string,
    proposed: ReturnType<typeof jsonEvent>[],
    explicit: 'no_stream' | bigint,
    callerExpected: NonNullable<AppendOptions['expectedRevision']>,
  ): Promise<AppendResult> {
    const stored = toStoredName(this.#namespace, streamName);
    let result: Awaited<ReturnType<EsdbClient['appendToStream']>>;
    try {
      result = await this.#client.appendToStream(stored, proposed, {
        expectedRevision: toEsdbExpectedRevision(explicit),
      });
    } catch (error) {
      throw fromEsdbError(error, streamName, callerExpected);
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
    try {
      const read = this.#client.readStream(toStoredName(this.#namespace, streamName), {
        direction: backwards ? 'backwards' : 'forwards',
        fromRevision: options.fromRevision ?? (backwards ? 'end' : 'start'),
        ...(options.maxCount === undefined ? {} : { maxCount: options.maxCount }),
      });
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
