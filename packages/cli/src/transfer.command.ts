import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  type EventData,
  type EventStore,
  type ExpectedRevision,
  lastPosition,
  type RecordedEvent,
} from '@ledger/event-store';
import { SqliteEventStore } from '@ledger/event-store-sqlite';

/**
 * One line of an export: a stored event with its bigints as decimal strings. `metadata` is absent (not `null`)
 * when the event has none, because the store tells "no metadata" from "metadata that is JSON null".
 */
export interface ExportedEvent {
  readonly id: string;
  readonly streamId: string;
  readonly revision: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata?: unknown;
  readonly position: { readonly commit: string; readonly prepare: string };
  readonly created: string;
}

/**
 * Why an import stopped. `line` is 1-based. For every code but `interrupted` this run wrote nothing: the embedded
 * import works in a temporary database, and the import into a store without transactions (EventStoreDB) checks
 * the whole file and the target before its first append. `interrupted` means some appends succeeded before one
 * failed; `storedEvents` is how many of the file's events the target holds at least (the failed append may have
 * been committed without its acknowledgement reaching us), and running the same import again continues.
 */
export class TransferError extends Error {
  readonly code: 'bad-line' | 'target-not-empty' | 'append-refused' | 'interrupted';
  readonly line: number | undefined;
  readonly storedEvents: number | undefined;

  constructor(code: TransferError['code'], message: string, line?: number, storedEvents?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'TransferError';
    this.code = code;
    this.line = line;
    this.storedEvents = storedEvents;
  }
}

/** The NDJSON line of one event (without the newline). Keys in a fixed order, so exports compare byte for byte. */
export function eventToLine(event: RecordedEvent): string {
  const line: ExportedEvent = {
    id: event.id,
    streamId: event.streamId,
    revision: event.revision.toString(),
    type: event.type,
    data: event.data,
    ...(event.metadata === undefined ? {} : { metadata: event.metadata }),
    position: { commit: event.position.commit.toString(), prepare: event.position.prepare.toString() },
    created: event.created.toISOString(),
  };
  return JSON.stringify(line);
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
/**
 * The exported event's `metadata.integrity` (its hash and link in the source's chain) is dropped: it describes
 * the source's chain, whose hashes cover `created`, the source store's clock. The embedded store seals every
 * imported event into a chain of its own (`ledger verify` checks it); EventStoreDB seals nothing, so there the
 * events carry no seal at all. Everything else in `metadata` (`recordedAt` included) is kept as it was.
 */
function withoutSeal(metadata: unknown): unknown {
  if (
    metadata === null ||
    typeof metadata !== 'object' ||
    Array.isArray(metadata) ||
    !('integrity' in metadata)
  ) {
    return metadata;
  }
  const { integrity: _integrity, ...rest } = metadata as Record<string, unknown>;
  return rest;
}

const KEYS = new Set(['id', 'streamId', 'revision', 'type', 'data', 'metadata', 'position', 'created']);

/**
 * Parses and checks one line of an export. Unknown keys are refused, as everywhere in the ledger: an import
 * that silently dropped a field would not be a copy.
 *
 * @throws TransferError (`bad-line`) naming the line and what is wrong with it.
 */
export function lineToEvent(text: string, line: number): ExportedEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TransferError('bad-line', `not JSON (${(error as Error).message})`, line);
  }
  const bad = (what: string): never => {
    throw new TransferError('bad-line', what, line);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('not a JSON object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!KEYS.has(key)) bad(`unknown field ${key}`);
  const text_ = (key: string) => {
    const field = record[key];
    if (typeof field !== 'string' || field.length === 0) bad(`${key} must be a non-empty string`);
    return field as string;
  };
  const decimal = (field: unknown, key: string) => {
    if (typeof field !== 'string' || !DECIMAL.test(field)) bad(`${key} must be a decimal string`);
    return field as string;
  };
  const id = text_('id');
  const streamId = text_('streamId');
  const type = text_('type');
  const revision = decimal(record.revision, 'revision');
  if (!('data' in record)) bad('data is missing');
  const position = record.position as Record<string, unknown> | undefined;
  if (typeof position !== 'object' || position === null) bad('position must be { commit, prepare }');
  const commit = decimal(position!.commit, 'position.commit');
  const prepare = decimal(position!.prepare, 'position.prepare');
  const created = text_('created');
  if (Number.isNaN(Date.parse(created))) bad('created must be a date-time');
  return {
    id,
    streamId,
    revision,
    type,
    data: record.data,
    ...('metadata' in record ? { metadata: record.metadata } : {}),
    position: { commit, prepare },
    created,
  };
}

/**
 * Writes every event of the store, in `$all` order, one NDJSON line each. Returns how many and the last
 * position written (events appended while the export runs may or may not be in it; the last position says).
 * `onProgress` gets the commit position of each event written: against `lastPositionOf(store)` it is an exact
 * fraction on SQLite, whose positions are contiguous from 1, and an approximate one on stores with sparse
 * positions (EventStoreDB's are log offsets).
 *
 * @example
 * await exportEvents(store, (line) => process.stdout.write(line));
 */
export async function exportEvents(
  store: EventStore,
  write: (chunk: string) => void | Promise<void>,
  onProgress?: (position: bigint) => void,
): Promise<{ events: number; lastPosition: bigint | undefined }> {
  let events = 0;
  let lastPosition: bigint | undefined;
  for await (const event of store.readAll()) {
    await write(`${eventToLine(event)}\n`);
    events += 1;
    lastPosition = event.position.commit;
    onProgress?.(lastPosition);
  }
  return { events, lastPosition };
}

/** The commit position of the store's last event (0n when it has none): the total of an export's progress. */
export async function lastPositionOf(store: EventStore): Promise<bigint> {
  return (await lastPosition(store))?.commit ?? 0n;
}

export interface ImportResult {
  readonly events: number;
  readonly streams: number;
}

/** Most events in one append (consecutive events of one stream travel together). */
const BATCH = 1000;
/**
 * Most bytes of export lines in one append: EventStoreDB refuses appends beyond its maximum append size
 * (1 MiB by default), and two large events of one claim would exceed it together though each fits alone.
 */
const BATCH_BYTES = 512 * 1024;

function compareDecimal(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

async function removeDatabase(path: string): Promise<void> {
  await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${path}${suffix}`, { force: true })));
}

async function hasEvents(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  const store = await SqliteEventStore.open({ path });
  try {
    for await (const _ of store.readAll({ maxCount: 1 })) return true;
    return false;
  } finally {
    await store.close();
  }
}

/**
 * Imports an export into the embedded store of `dataDir`, which must hold no events (stop the ledger first).
 * All or nothing: the events go into a temporary database next to `events.db` that replaces it only once
 * every line was read, checked and committed; a bad line, an append the store refuses or a crash leaves the
 * data dir as it was (a crash may leave `events.db.importing*` behind, which the next import removes).
 *
 * Each stream keeps its ids, revisions and order: consecutive events of one stream are appended together
 * with the expected revision the export implies, so a line out of order is refused, never reordered.
 *
 * `onProgress` gets the number of lines read so far, blank ones included.
 *
 * @throws TransferError `target-not-empty`, `bad-line` or `append-refused`, naming the line.
 */
export async function importEvents(
  dataDir: string,
  lines: AsyncIterable<string>,
  onProgress?: (linesRead: number) => void,
): Promise<ImportResult> {
  const target = join(dataDir, 'events.db');
  if (await hasEvents(target)) {
    throw new TransferError(
      'target-not-empty',
      `${target} already holds events: import only into an empty data dir`,
    );
  }
  const temporary = join(dataDir, 'events.db.importing');
  await removeDatabase(temporary);
  const store = await SqliteEventStore.open({ path: temporary });
  let closed = false;
  try {
    const result = await appendAll(store, lines, onProgress);
    await store.close();
    closed = true;
    await removeDatabase(target);
    await rename(temporary, target);
    return result;
  } catch (error) {
    if (!closed) await store.close();
    await removeDatabase(temporary);
    throw error;
  }
}

/** One checked line: the event as it will be appended (seal dropped), where it goes, and where it came from. */
interface CheckedEvent {
  readonly line: number;
  readonly streamId: string;
  readonly revision: bigint;
  readonly event: EventData & { readonly id: string };
  readonly bytes: number;
}

/**
 * The events of an export, each checked against the lines before it: `$all` order (positions increasing) and
 * each stream's revisions contiguous from 0. `onLine` gets the number of lines read, blank ones included.
 *
 * @throws TransferError (`bad-line`) at the first line that is not a well-formed event in order.
 */
async function* checkedEvents(
  lines: AsyncIterable<string>,
  onLine?: (linesRead: number) => void,
): AsyncGenerator<CheckedEvent> {
  const lastRevision = new Map<string, bigint>();
  let previousPosition: string | undefined;
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber += 1;
    onLine?.(lineNumber);
    if (text.trim() === '') continue;
    const event = lineToEvent(text, lineNumber);
    if (previousPosition !== undefined && compareDecimal(event.position.commit, previousPosition) <= 0) {
      throw new TransferError(
        'bad-line',
        'positions must increase from line to line ($all order)',
        lineNumber,
      );
    }
    previousPosition = event.position.commit;
    const revision = BigInt(event.revision);
    const expectedRevision = (lastRevision.get(event.streamId) ?? -1n) + 1n;
    if (revision !== expectedRevision) {
      throw new TransferError(
        'bad-line',
        `stream ${event.streamId} continues at revision ${expectedRevision}, not ${revision}`,
        lineNumber,
      );
    }
    lastRevision.set(event.streamId, revision);
    yield {
      line: lineNumber,
      streamId: event.streamId,
      revision,
      event: {
        id: event.id,
        type: event.type,
        data: event.data,
        ...('metadata' in event ? { metadata: withoutSeal(event.metadata) } : {}),
      },
      bytes: Buffer.byteLength(text),
    };
  }
}

/** Consecutive events of one stream, as one append with the expected revision the export implies. */
interface Batch {
  readonly streamId: string;
  readonly expected: ExpectedRevision;
  readonly events: EventData[];
  readonly firstLine: number;
  lastLine: number;
  bytes: number;
}

/**
 * Groups consecutive events of one stream into appends of at most `BATCH` events and about `BATCH_BYTES`
 * (a single larger event travels alone). The expected revision is explicit (`no_stream` or the revision before
 * the first event), so a line out of order is refused rather than reordered, and EventStoreDB deduplicates a
 * repeated append by its event ids.
 */
async function* batches(events: AsyncIterable<CheckedEvent>): AsyncGenerator<Batch> {
  let batch: Batch | undefined;
  for await (const checked of events) {
    if (
      batch !== undefined &&
      (batch.streamId !== checked.streamId ||
        batch.events.length >= BATCH ||
        batch.bytes + checked.bytes > BATCH_BYTES)
    ) {
      yield batch;
      batch = undefined;
    }
    if (batch === undefined) {
      batch = {
        streamId: checked.streamId,
        expected: checked.revision === 0n ? 'no_stream' : checked.revision - 1n,
        events: [],
        firstLine: checked.line,
        lastLine: checked.line,
        bytes: 0,
      };
    }
    batch.events.push(checked.event);
    batch.lastLine = checked.line;
    batch.bytes += checked.bytes;
  }
  if (batch !== undefined) yield batch;
}

async function appendAll(
  store: EventStore,
  lines: AsyncIterable<string>,
  onProgress?: (linesRead: number) => void,
): Promise<ImportResult> {
  let events = 0;
  let streams = 0;
  for await (const batch of batches(checkedEvents(lines, onProgress))) {
    try {
      await store.appendToStream(batch.streamId, batch.events, { expectedRevision: batch.expected });
    } catch (error) {
      throw new TransferError(
        'append-refused',
        `the store refused the events of lines ${batch.firstLine}-${batch.lastLine}: ${(error as Error).message}`,
        batch.firstLine,
      );
    }
    events += batch.events.length;
    if (batch.expected === 'no_stream') streams += 1;
  }
  return { events, streams };
}

/** How far an import into a store (`importIntoStore`) is: the checking pass, then the appending pass. */
export interface StoreImportProgress {
  readonly pass: 'check' | 'append';
  /** Lines read in this pass, blank ones included. */
  readonly linesRead: number;
}

export interface StoreImportOptions {
  /** Refuses an event the target cannot store faithfully (throw); run on every line before the first append. */
  readonly checkEvent?: (event: EventData) => void;
  readonly onProgress?: (progress: StoreImportProgress) => void;
}

export interface StoreImportResult extends ImportResult {
  /** Events of the file the target held already (an earlier, interrupted run of the same import): skipped. */
  readonly alreadyStored: number;
}

/** Whether the stored event is this line's: ids compared lower-case (EventStoreDB returns them so), seal ignored. */
function isSameEvent(stored: RecordedEvent, checked: CheckedEvent): boolean {
  return (
    stored.streamId === checked.streamId &&
    stored.revision === checked.revision &&
    stored.id.toLowerCase() === checked.event.id.toLowerCase() &&
    stored.type === checked.event.type &&
    isDeepStrictEqual(stored.data, checked.event.data) &&
    isDeepStrictEqual(withoutSeal(stored.metadata), checked.event.metadata)
  );
}

const describe = (id: string, type: string, streamId: string, revision: bigint) =>
  `${id} (${type}) at revision ${revision} of ${streamId}`;

/**
 * Imports an export into a store that has no transaction across streams (EventStoreDB), as safely as that
 * allows. `source` is called twice and must give the same lines both times (a file, not stdin):
 *
 * 1. **Check** the whole file before connecting: every line well-formed and in order (as for the embedded
 *    import), no event id twice, and `checkEvent` (the target's own limits). A bad file writes nothing.
 * 2. **Compare** the target with the start of the file. It must hold no events, or exactly the file's first
 *    events in the file's order (same ids, streams, revisions, types, data and metadata): what an interrupted
 *    run of this import leaves. Anything else is refused (`target-not-empty`) before any append.
 * 3. **Append** the rest in the file's order, one stream's consecutive events per append, each with the
 *    expected revision the export implies, so ids, per-stream order and the global order are the file's.
 *
 * An append that fails midway stops the import with `interrupted`: the events appended so far stay (nothing
 * can take them back), and running the same import again skips them in step 2 and appends the rest. An append
 * whose acknowledgement was lost is a replay on the server (same ids at the same explicit revision), not a copy.
 * The store from `connect` is closed when the import ends.
 *
 * @example
 * await importIntoStore(() => openEventStore(config), () => readLines('ledger.ndjson'));
 *
 * @throws TransferError `bad-line`, `target-not-empty` (nothing appended) or `interrupted` (some appended).
 */
export async function importIntoStore(
  connect: () => Promise<EventStore>,
  source: () => AsyncIterable<string>,
  options: StoreImportOptions = {},
): Promise<StoreImportResult> {
  const { checkEvent, onProgress } = options;
  const ids = new Set<string>();
  for await (const checked of checkedEvents(source(), (linesRead) =>
    onProgress?.({ pass: 'check', linesRead }),
  )) {
    // The embedded store refuses an id used twice; EventStoreDB checks ids per stream only and would keep both.
    const id = checked.event.id.toLowerCase();
    if (ids.has(id))
      throw new TransferError('bad-line', `event id ${checked.event.id} is used twice`, checked.line);
    ids.add(id);
    try {
      checkEvent?.(checked.event);
    } catch (error) {
      throw new TransferError(
        'bad-line',
        `the target cannot store this event: ${(error as Error).message}`,
        checked.line,
      );
    }
  }
  ids.clear();

  const store = await connect();
  const stored = store.readAll()[Symbol.asyncIterator]();
  let inPrefix = true;
  let alreadyStored = 0;
  let appended = 0;
  let streams = 0;
  const notThePrefix = (detail: string, line?: number) =>
    new TransferError(
      'target-not-empty',
      `the target already holds events, and they are not the start of this file (${detail}): import only into an empty store, or re-run an interrupted import with the same file`,
      line,
    );
  async function* toAppend(): AsyncGenerator<CheckedEvent> {
    for await (const checked of checkedEvents(source(), (linesRead) =>
      onProgress?.({ pass: 'append', linesRead }),
    )) {
      if (inPrefix) {
        // Read to the target's end before the first append, so the comparison never meets this run's events.
        const next = await stored.next();
        if (!next.done) {
          const have = next.value;
          if (!isSameEvent(have, checked)) {
            throw notThePrefix(
              `its event ${alreadyStored + 1} is ${describe(have.id, have.type, have.streamId, have.revision)}, the file's is ${describe(checked.event.id, checked.event.type, checked.streamId, checked.revision)}`,
              checked.line,
            );
          }
          alreadyStored += 1;
          continue;
        }
        inPrefix = false;
      }
      // Streams this run starts: a re-run does not count those an earlier run stored.
      if (checked.revision === 0n) streams += 1;
      yield checked;
    }
    if (inPrefix && !(await stored.next()).done) {
      throw notThePrefix(`it holds more events than the file's ${alreadyStored}`);
    }
  }
  try {
    for await (const batch of batches(toAppend())) {
      try {
        await store.appendToStream(batch.streamId, batch.events, { expectedRevision: batch.expected });
      } catch (error) {
        throw interrupted(
          `the store refused or failed the events of lines ${batch.firstLine}-${batch.lastLine}: ${(error as Error).message}`,
          batch.firstLine,
          alreadyStored + appended,
        );
      }
      appended += batch.events.length;
    }
  } catch (error) {
    // Whatever stops the import once something was appended (the file changed between the passes, a read
    // failing) leaves a partial import behind, and the message must say so rather than "nothing was imported".
    if (appended === 0 || (error as { code?: unknown }).code === 'interrupted') throw error;
    throw interrupted((error as Error).message, undefined, alreadyStored + appended);
  } finally {
    await stored.return?.();
    await store.close();
  }
  return { events: appended, streams, alreadyStored };
}

function interrupted(detail: string, line: number | undefined, storedEvents: number): TransferError {
  return new TransferError(
    'interrupted',
    `${detail}; the target holds at least the file's first ${storedEvents} events, because it has no transaction across streams: run the same import again to append the rest`,
    line,
    storedEvents,
  );
}

/**
 * EventStoreDB's limits, as `importIntoStore`'s `checkEvent`: event ids must be UUIDs, and metadata that is
 * JSON `null`, `false`, `0` or `""` is refused because its client does not send falsy metadata (it would read
 * back as none, a silent change). The client library is loaded only when asked for, as `openEventStore` does,
 * so the other commands do not load gRPC.
 *
 * @example
 * await importIntoStore(connect, source, { checkEvent: await eventStoreDbLimits() });
 */
export async function eventStoreDbLimits(): Promise<(event: EventData) => void> {
  const { validateEsdbEvents } = await import('@ledger/event-store-eventstoredb');
  return (event) => {
    validateEsdbEvents([event]);
    if (event.metadata !== undefined && !event.metadata) {
      throw new Error(
        `EventStoreDB would read metadata ${JSON.stringify(event.metadata)} back as no metadata`,
      );
    }
  };
}
