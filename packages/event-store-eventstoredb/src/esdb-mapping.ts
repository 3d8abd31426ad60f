/**
 * Pure translations between the ledger's event-store port and `@eventstore/db-client`: revisions, positions,
 * filters, names and errors. No I/O, so every rule is unit-tested without a server.
 */
import {
  type AllStreamRecordedEvent,
  type AppendExpectedRevision,
  type CurrentRevision,
  type Filter as EsdbFilter,
  type RecordedEvent as EsdbRecordedEvent,
  eventTypeFilter,
  excludeSystemEvents,
  type ReadPosition,
  streamNameFilter,
} from '@eventstore/db-client';
import {
  type AllFilter,
  DuplicateEventIdError,
  type EventData,
  type ExpectedRevision,
  InvalidAppendError,
  matchesFilter,
  type Position,
  type RecordedEvent,
  StoreUnavailableError,
  StreamNotFoundError,
  type StreamRevision,
  WrongExpectedVersionError,
} from '@ledger/event-store';

/** The port's expected revisions are EventStoreDB's, spelled the same: this only narrows the type. */
export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  return expected;
}

/** EventStoreDB reports "no stream" as `'no_stream'` (and older servers as `-1n`); the port says `'no_stream'`. */
export function fromEsdbCurrentRevision(actual: CurrentRevision | undefined): StreamRevision | 'no_stream' {
  if (actual === undefined || actual === 'no_stream' || actual === -1n) return 'no_stream';
  return actual;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * EventStoreDB refuses what the other adapters refuse, plus event ids that are not UUIDs (its ids are
 * 128-bit GUIDs) and an id given twice in one append (the server would store both). Ids are compared
 * lower-case because the server returns them lower-case.
 */
export function validateEsdbEvents(events: readonly EventData[]): void {
  const seen = new Set<string>();
  for (const event of events) {
    if (event.id === undefined) continue;
    if (!UUID.test(event.id)) {
      throw new InvalidAppendError(`EventStoreDB event ids are UUIDs, not ${JSON.stringify(event.id)}`);
    }
    const id = event.id.toLowerCase();
    if (seen.has(id)) throw new DuplicateEventIdError(event.id, 'twice in one append');
    seen.add(id);
  }
}

/**
 * Stream names live under an optional namespace (`<namespace><streamName>`), so several ledgers (or the
 * contract suite's isolated stores) can share one server. `$`-streams belong to the server and are never
 * the ledger's.
 */
export function toStoredName(namespace: string, streamName: string): string {
  return `${namespace}${streamName}`;
}

/** The port's stream name of a stored stream, or `undefined` when the stream is not this store's. */
export function fromStoredName(namespace: string, storedName: string): string | undefined {
  if (storedName.startsWith('$')) return undefined;
  if (!storedName.startsWith(namespace)) return undefined;
  const name = storedName.slice(namespace.length);
  return name.length === 0 ? undefined : name;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/**
 * The server-side filter for a subscription. Prefix filters map to EventStoreDB prefix filters (under the
 * namespace); event types map to an anchored regex, because EventStoreDB's type prefixes would let
 * `ClaimMade` also match `ClaimMadeV2`. Without a filter, system events are excluded server-side. Events
 * are checked again client-side (`toPortEvent` + `matchesFilter`), so a looser server filter is harmless.
 */
export function toEsdbFilter(filter: AllFilter | undefined, namespace: string): EsdbFilter {
  if (filter?.streamNamePrefixes !== undefined) {
    return streamNameFilter({ prefixes: filter.streamNamePrefixes.map((p) => toStoredName(namespace, p)) });
  }
  if (filter?.eventTypes !== undefined) {
    const types = filter.eventTypes.map(escapeRegex).join('|');
    return eventTypeFilter({ regex: types.length === 0 ? '(?!)' : `^(?:${types})$` });
  }
  if (namespace.length > 0) return streamNameFilter({ prefixes: [namespace] });
  return excludeSystemEvents();
}

/** Whether a stored event belongs to the port's view, with the filter applied (client-side). */
export function passes(
  filter: AllFilter | undefined,
  namespace: string,
  storedStream: string,
  type: string,
): boolean {
  const name = fromStoredName(namespace, storedStream);
  return name !== undefined && matchesFilter(filter, name, type);
}

function isPosition(value: unknown): value is Position {
  return typeof value === 'object' && value !== null && 'commit' in value && 'prepare' in value;
}

/**
 * Turns a recorded EventStoreDB event into the port's, or `undefined` when it is not this store's (a system
 * event, another namespace, or a binary event the ledger never writes). `position` comes from the event,
 * else from the read's fallback (reads of one stream on older servers carry no position).
 */
export function toPortEvent(
  event: EsdbRecordedEvent | AllStreamRecordedEvent | undefined,
  namespace: string,
  fallbackPosition?: Position,
): RecordedEvent | undefined {
  if (event === undefined || !event.isJson) return undefined;
  const streamId = fromStoredName(namespace, event.streamId);
  if (streamId === undefined) return undefined;
  const position = isPosition(event.position) ? event.position : fallbackPosition;
  if (position === undefined) {
    // Every server the adapter supports (20.10+) sends positions; dropping the event would be a silent gap.
    throw new Error(`EventStoreDB returned event ${event.id} of ${event.streamId} without a position`);
  }
  return {
    id: event.id,
    streamId,
    revision: event.revision,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    position: { commit: position.commit, prepare: position.prepare },
    created: event.created,
  };
}

/** How to read `$all` for the port's `readAll` options. */
export interface ReadAllPlan {
  readonly direction: 'forwards' | 'backwards';
  readonly fromPosition: ReadPosition;
  /**
   * The port reads backwards from a position inclusively, EventStoreDB exclusively: when set, the event at
   * exactly this position (if any) is read forwards first and yielded before the backwards read.
   */
  readonly includeExactly?: Position;
}

export function readAllPlan(
  direction: 'forwards' | 'backwards' | undefined,
  from: 'start' | 'end' | Position | undefined,
): ReadAllPlan {
  const backwards = direction === 'backwards';
  const fromPosition = from ?? (backwards ? 'end' : 'start');
  if (backwards && typeof fromPosition === 'object') {
    return { direction: 'backwards', fromPosition, includeExactly: fromPosition };
  }
  return { direction: backwards ? 'backwards' : 'forwards', fromPosition };
}

function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** True when `event` sits exactly at `position` (the inclusive end of a backwards read). */
export function isAt(event: { position: Position }, position: Position): boolean {
  return comparePositions(event.position, position) === 0;
}

/** A subscription's start: the port and EventStoreDB both deliver strictly after a position. */
export function subscriptionStart(from: 'start' | 'end' | Position | undefined): ReadPosition {
  return from ?? 'start';
}

interface ClientErrorShape {
  readonly type?: unknown;
  readonly streamName?: unknown;
  readonly actualVersion?: unknown;
  readonly maxAppendSize?: unknown;
  readonly message?: unknown;
}

/**
 * Maps the client's typed errors (recognised by their `type`, as the port's by `code`) to the port's:
 * wrong expected version, stream not found, and the server's append size limit (an append the store
 * cannot take, like any other `invalid-append`), and the server being unreachable or too slow
 * (`store-unavailable`). Anything else (access denied, …) passes as is.
 */
export function fromEsdbError(error: unknown, streamName: string, expected?: ExpectedRevision): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const shape = error as ClientErrorShape;
  switch (shape.type) {
    case 'wrong-expected-version':
      return new WrongExpectedVersionError(
        streamName,
        expected ?? 'any',
        fromEsdbCurrentRevision(shape.actualVersion as CurrentRevision | undefined),
      );
    case 'stream-not-found':
      return new StreamNotFoundError(streamName);
    case 'unavailable':
    case 'deadline-exceeded':
      // The server is away or too slow: a 503 to retry, not an unexpected failure.
      return new StoreUnavailableError(String(shape.message ?? shape.type));
    case 'maximum-append-size-exceeded':
      return new InvalidAppendError(
        `the append exceeds EventStoreDB's maximum append size (${String(shape.maxAppendSize)} bytes)`,
      );
    default:
      return error;
  }
}
