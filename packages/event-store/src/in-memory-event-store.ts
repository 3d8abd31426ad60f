import { randomUUID } from 'node:crypto';
import { checkExpectedRevision, matchesFilter, NO_STREAM, toJson, validateAppend } from './append-rules.js';
import { CommitNotifier, catchUpSubscription } from './catch-up-subscription.js';
import { DuplicateEventIdError, EventStoreClosedError, StreamNotFoundError } from './errors.js';
import type {
  AppendOptions,
  AppendResult,
  EventData,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeToAllOptions,
  Subscription,
} from './event-store.port.js';

function positionAt(index: number): { commit: bigint; prepare: bigint } {
  const value = BigInt(index + 1);
  return { commit: value, prepare: value };
}

/**
 * An event store held in memory: the reference adapter for the contract suite and for unit tests of code
 * that needs a store. It keeps the same semantics as the durable adapters (JSON round-trip of data, typed
 * errors, idempotent event ids) so a test that passes here means the same thing elsewhere.
 *
 * @example
 * const store = new InMemoryEventStore();
 * await store.appendToStream('claim-1', [{ type: 'ClaimMade', data: {} }], { expectedRevision: 'no_stream' });
 */
export class InMemoryEventStore implements EventStore {
  readonly #log: RecordedEvent[] = [];
  readonly #streams = new Map<string, RecordedEvent[]>();
  readonly #byId = new Map<string, RecordedEvent>();
  readonly #notifier = new CommitNotifier();
  #closed = false;

  async appendToStream(
    streamName: string,
    events: readonly EventData[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    if (this.#closed) throw new EventStoreClosedError();
    validateAppend(streamName, events, options.expectedRevision);
    const stream = this.#streams.get(streamName) ?? [];
    const replay = this.#replayOf(streamName, events);
    if (replay !== undefined) return replay;

    const current = stream.length === 0 ? NO_STREAM : BigInt(stream.length - 1);
    checkExpectedRevision(streamName, options.expectedRevision ?? 'any', current);

    const created = new Date();
    const seen = new Set<string>();
    const recorded = events.map((event, index): RecordedEvent => {
      const id = event.id ?? randomUUID();
      if (this.#byId.has(id) || seen.has(id)) throw new DuplicateEventIdError(id, 'already stored');
      seen.add(id);
      return {
        id,
        streamId: streamName,
        revision: current + 1n + BigInt(index),
        type: event.type,
        data: JSON.parse(toJson(event.data, 'data')),
        metadata: event.metadata === undefined ? undefined : JSON.parse(toJson(event.metadata, 'metadata')),
        position: positionAt(this.#log.length + index),
        created,
      };
    });
    for (const event of recorded) {
      this.#log.push(event);
      stream.push(event);
      this.#byId.set(event.id, event);
    }
    this.#streams.set(streamName, stream);
    this.#notifier.signal();
    const last = recorded[recorded.length - 1]!;
    return { nextExpectedRevision: last.revision, position: last.position };
  }

  /** The original result when every event of the append is already stored, in order, in this stream. */
  #replayOf(streamName: string, events: readonly EventData[]): AppendResult | undefined {
    const firstId = events[0]?.id;
    if (firstId === undefined) return undefined;
    const first = this.#byId.get(firstId);
    if (first === undefined) return undefined;
    const stream = this.#streams.get(first.streamId)!;
    const matches =
      first.streamId === streamName &&
      events.every((event, index) => stream[Number(first.revision) + index]?.id === event.id);
    if (!matches) throw new DuplicateEventIdError(firstId, 'stored by another append');
    const last = stream[Number(first.revision) + events.length - 1]!;
    return { nextExpectedRevision: last.revision, position: last.position };
  }

  async *readStream(streamName: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    if (this.#closed) throw new EventStoreClosedError();
    const stream = this.#streams.get(streamName);
    if (stream === undefined) throw new StreamNotFoundError(streamName);
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? 'end' : 'start');
    const maxCount = options.maxCount ?? Number.POSITIVE_INFINITY;
    // Forwards from 'end' reads nothing, as in EventStoreDB: there is nothing after the end.
    let index =
      from === 'start' ? 0 : from === 'end' ? (backwards ? stream.length - 1 : stream.length) : Number(from);
    if (backwards) index = Math.min(index, stream.length - 1);
    for (let count = 0; count < maxCount && index >= 0 && index < stream.length; count += 1) {
      if (this.#closed) throw new EventStoreClosedError();
      yield stream[index]!;
      index += backwards ? -1 : 1;
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    if (this.#closed) throw new EventStoreClosedError();
    const backwards = options.direction === 'backwards';
    const from = options.fromPosition ?? (backwards ? 'end' : 'start');
    const maxCount = options.maxCount ?? Number.POSITIVE_INFINITY;
    let index: number;
    if (from === 'start') index = 0;
    else if (from === 'end') index = backwards ? this.#log.length - 1 : this.#log.length;
    else index = this.#indexAtOrAfter(from.commit, backwards);
    let count = 0;
    while (count < maxCount && index >= 0 && index < this.#log.length) {
      const event = this.#log[index]!;
      if (this.#closed) throw new EventStoreClosedError();
      if (matchesFilter(options.filter, event.streamId, event.type)) {
        yield event;
        count += 1;
      }
      index += backwards ? -1 : 1;
    }
  }

  /** Positions here are index + 1, so the index of a position is direct; clamp for positions past the end. */
  #indexAtOrAfter(commit: bigint, backwards: boolean): number {
    const index = Number(commit) - 1;
    if (backwards) return Math.min(index, this.#log.length - 1);
    return Math.max(index, 0);
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    if (this.#closed) throw new EventStoreClosedError();
    const from = options.fromPosition ?? 'start';
    const start = from === 'start' ? 0 : from === 'end' ? this.#log.length : Number(from.commit);
    return catchUpSubscription(
      start,
      (after, limit) => {
        const events: RecordedEvent[] = [];
        const end = Math.min(this.#log.length, after + limit);
        for (let index = after; index < end; index += 1) {
          const event = this.#log[index]!;
          if (matchesFilter(options.filter, event.streamId, event.type)) events.push(event);
        }
        return { events, next: end, more: end < this.#log.length };
      },
      this.#notifier,
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#notifier.close();
  }
}
