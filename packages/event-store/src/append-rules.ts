import { InvalidAppendError, WrongExpectedVersionError } from './errors.js';
import type { AllFilter, EventData, ExpectedRevision, StreamRevision } from './event-store.port.js';

/** `-1n` stands for "the stream has no events" in adapters' internal arithmetic. */
export const NO_STREAM = -1n;

/**
 * Rejects appends no adapter should store: an empty stream name or batch, an event without a type, or an
 * event id that is not a string. Shared by adapters so they all refuse the same things.
 */
export function validateAppend(
  streamName: string,
  events: readonly EventData[],
  expectedRevision: ExpectedRevision = 'any',
): void {
  const validRevision =
    expectedRevision === 'any' ||
    expectedRevision === 'no_stream' ||
    expectedRevision === 'stream_exists' ||
    (typeof expectedRevision === 'bigint' && expectedRevision >= 0n);
  if (!validRevision) {
    // A number (0 rather than 0n) or a negative bigint would otherwise look like a conflict and be retried.
    throw new InvalidAppendError(
      `expectedRevision must be 'any', 'no_stream', 'stream_exists' or a non-negative bigint, not ${String(expectedRevision)} (${typeof expectedRevision})`,
    );
  }
  if (typeof streamName !== 'string' || streamName.length === 0) {
    throw new InvalidAppendError('stream name must be a non-empty string');
  }
  if (streamName.startsWith('$')) {
    throw new InvalidAppendError('stream names starting with $ are reserved for the store');
  }
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidAppendError('an append needs at least one event');
  }
  for (const event of events) {
    if (typeof event.type !== 'string' || event.type.length === 0) {
      throw new InvalidAppendError('every event needs a non-empty type');
    }
    if (event.id !== undefined && (typeof event.id !== 'string' || event.id.length === 0)) {
      throw new InvalidAppendError('an event id must be a non-empty string');
    }
  }
}

/**
 * Throws `WrongExpectedVersionError` unless `expected` holds for a stream whose last revision is `current`
 * (`NO_STREAM` when it has none).
 */
export function checkExpectedRevision(
  streamName: string,
  expected: ExpectedRevision,
  current: StreamRevision,
): void {
  const holds =
    expected === 'any' ||
    (expected === 'no_stream' && current === NO_STREAM) ||
    (expected === 'stream_exists' && current !== NO_STREAM) ||
    (typeof expected === 'bigint' && expected === current);
  if (!holds) {
    throw new WrongExpectedVersionError(streamName, expected, current === NO_STREAM ? 'no_stream' : current);
  }
}

/** True when an event of `streamId` and `type` passes the `$all` filter. */
export function matchesFilter(filter: AllFilter | undefined, streamId: string, type: string): boolean {
  if (filter === undefined) return true;
  if (filter.streamNamePrefixes !== undefined) {
    return filter.streamNamePrefixes.some((prefix) => streamId.startsWith(prefix));
  }
  return filter.eventTypes.includes(type);
}

/** Serialises a JSON value, refusing what JSON cannot carry faithfully (bigints, cycles, undefined data). */
export function toJson(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidAppendError(`${what} is not serialisable as JSON: ${(error as Error).message}`);
  }
  if (text === undefined) throw new InvalidAppendError(`${what} is not a JSON value`);
  return text;
}
