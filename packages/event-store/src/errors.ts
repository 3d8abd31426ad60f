import type { ExpectedRevision, StreamRevision } from './event-store.port.js';

/**
 * The base of the store's typed errors. `code` is stable and is what callers (and the HTTP error mapper)
 * match on: error classes can come from different copies of a package, `instanceof` alone is not enough.
 */
export class EventStoreError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The stream was not at the revision the writer expected (a concurrent writer got there first). */
export class WrongExpectedVersionError extends EventStoreError {
  static readonly code = 'wrong-expected-version';
  readonly streamName: string;
  readonly expectedVersion: ExpectedRevision;
  /** The stream's actual last revision, or `'no_stream'`. */
  readonly actualVersion: StreamRevision | 'no_stream';

  constructor(
    streamName: string,
    expectedVersion: ExpectedRevision,
    actualVersion: StreamRevision | 'no_stream',
  ) {
    super(
      WrongExpectedVersionError.code,
      `stream ${streamName}: expected revision ${String(expectedVersion)}, actual ${String(actualVersion)}`,
    );
    this.streamName = streamName;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/**
 * The store could not be reached or did not answer in time (a server-backed adapter: EventStoreDB down,
 * partitioned, overloaded). Nothing was appended as far as the caller can know; the request may be retried.
 */
export class StoreUnavailableError extends EventStoreError {
  static readonly code = 'store-unavailable';

  constructor(detail: string) {
    super(StoreUnavailableError.code, `the event store is unavailable: ${detail}`);
  }
}

/**
 * Another connection held the store's write lock for longer than the store waits for it (an embedded store
 * shared by several processes). Nothing was appended: the append may simply be retried.
 */
export class StoreBusyError extends EventStoreError {
  static readonly code = 'store-busy';

  constructor(detail: string) {
    super(StoreBusyError.code, `the event store is busy: ${detail}`);
  }
}

/** The stream has no events. */
export class StreamNotFoundError extends EventStoreError {
  static readonly code = 'stream-not-found';
  readonly streamName: string;

  constructor(streamName: string) {
    super(StreamNotFoundError.code, `stream ${streamName} not found`);
    this.streamName = streamName;
  }
}

/** An event id is already stored under another stream or at a place that makes the append no plain retry. */
export class DuplicateEventIdError extends EventStoreError {
  static readonly code = 'duplicate-event-id';
  readonly eventId: string;

  constructor(eventId: string, detail: string) {
    super(DuplicateEventIdError.code, `event ${eventId}: ${detail}`);
    this.eventId = eventId;
  }
}

/** The call's arguments are not valid (empty append, bad stream name, data that is not JSON). */
export class InvalidAppendError extends EventStoreError {
  static readonly code = 'invalid-append';

  constructor(message: string) {
    super(InvalidAppendError.code, message);
  }
}

/** The store was closed. */
export class EventStoreClosedError extends EventStoreError {
  static readonly code = 'event-store-closed';

  constructor() {
    super(EventStoreClosedError.code, 'the event store is closed');
  }
}

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/** True for a `WrongExpectedVersionError` from any copy of this package. */
export function isWrongExpectedVersionError(error: unknown): error is WrongExpectedVersionError {
  return hasCode(error, WrongExpectedVersionError.code);
}

/** True for a `StreamNotFoundError` from any copy of this package. */
export function isStreamNotFoundError(error: unknown): error is StreamNotFoundError {
  return hasCode(error, StreamNotFoundError.code);
}
