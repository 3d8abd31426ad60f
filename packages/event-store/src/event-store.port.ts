/**
 * The event-store port. Its shape follows `@eventstore/db-client` so that an EventStoreDB/KurrentDB adapter maps
 * one to one: revisions are bigints, `$all` positions are `{ commit, prepare }` bigints, expected revisions take
 * the same four forms, and the typed errors carry the same names.
 */

/** An event's 0-based index in its own stream. */
export type StreamRevision = bigint;

/**
 * A global `$all` position. Adapters whose log has a single counter (SQLite) set `commit === prepare`;
 * EventStoreDB's are transaction-log offsets. Positions increase in commit order but need not be contiguous.
 */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

/**
 * What the writer believes about the stream before it appends:
 * - `'any'`: no check;
 * - `'no_stream'`: the stream must not exist yet;
 * - `'stream_exists'`: the stream must have at least one event;
 * - a revision `n`: the stream's last event must be at revision `n`.
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | StreamRevision;

/** An event to append. `id` makes retries idempotent; adapters generate a time-ordered UUID when it is absent. */
export interface EventData<Type extends string = string, Data = unknown, Metadata = unknown> {
  readonly id?: string;
  readonly type: Type;
  readonly data: Data;
  readonly metadata?: Metadata;
}

/** An event as stored. `data` and `metadata` are JSON values, returned as written. */
export interface RecordedEvent<Type extends string = string, Data = unknown, Metadata = unknown> {
  readonly id: string;
  readonly streamId: string;
  readonly revision: StreamRevision;
  readonly type: Type;
  readonly data: Data;
  readonly metadata: Metadata | undefined;
  readonly position: Position;
  /** When the store committed the event (the store's own clock). */
  readonly created: Date;
}

export interface AppendOptions {
  /** Defaults to `'any'`. */
  readonly expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** The revision of the last event now in the stream: pass it as `expectedRevision` to append next. */
  readonly nextExpectedRevision: StreamRevision;
  /** The position of the last event appended. */
  readonly position: Position;
}

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  readonly direction?: Direction;
  /** Defaults to `'start'` forwards and `'end'` backwards. Inclusive. */
  readonly fromRevision?: 'start' | 'end' | StreamRevision;
  readonly maxCount?: number;
}

/**
 * Server-side filter for `$all`. As in EventStoreDB, one filter selects either by stream-name prefix or by
 * event type, not both at once.
 */
export type AllFilter =
  | { readonly streamNamePrefixes: readonly string[]; readonly eventTypes?: never }
  | { readonly eventTypes: readonly string[]; readonly streamNamePrefixes?: never };

export interface ReadAllOptions {
  readonly direction?: Direction;
  /**
   * Defaults to `'start'` forwards and `'end'` backwards. Inclusive: forwards reads events at or after the
   * position, backwards reads events at or before it.
   */
  readonly fromPosition?: 'start' | 'end' | Position;
  readonly maxCount?: number;
  readonly filter?: AllFilter;
}

export interface SubscribeToAllOptions {
  /** Exclusive, as in EventStoreDB: the subscription delivers events strictly after this position. */
  readonly fromPosition?: 'start' | 'end' | Position;
  readonly filter?: AllFilter;
}

/**
 * A catch-up subscription: it reads history from its start position, then goes live without a gap or a
 * duplicate at the hand-over. Iterate it with `for await`; leaving the loop or calling `unsubscribe()` ends it.
 */
export interface Subscription<E extends RecordedEvent = RecordedEvent> extends AsyncIterable<E> {
  unsubscribe(): Promise<void>;
}

/**
 * The event store.
 *
 * @example
 * const { nextExpectedRevision } = await store.appendToStream('claim-1', [{ type: 'ClaimMade', data }], {
 *   expectedRevision: 'no_stream',
 * });
 * for await (const event of store.readStream('claim-1')) console.log(event.revision, event.type);
 */
export interface EventStore {
  /**
   * Appends events atomically to one stream. Resolves only once the events are durable. Throws
   * `WrongExpectedVersionError` when `expectedRevision` does not hold. Re-appending events whose ids are
   * already stored in that stream, in the same order, returns the original result and stores nothing.
   */
  appendToStream(
    streamName: string,
    events: readonly EventData[],
    options?: AppendOptions,
  ): Promise<AppendResult>;

  /** Reads one stream. Iteration throws `StreamNotFoundError` when the stream has no events. */
  readStream(streamName: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;

  /** Reads the whole log in position order. */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;

  /** Subscribes to the whole log: catches up from `fromPosition`, then delivers live events. */
  subscribeToAll(options?: SubscribeToAllOptions): Subscription;

  /** Waits for pending appends, ends every subscription and releases the store's resources. */
  close(): Promise<void>;
}
