import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventData, EventStore, ExpectedRevision, RecordedEvent } from '@ledger/event-store';
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

/** Why an import stopped. `line` is 1-based; nothing of the import is left in the data dir. */
export class TransferError extends Error {
  readonly code: 'bad-line' | 'target-not-empty' | 'append-refused';
  readonly line: number | undefined;

  constructor(code: TransferError['code'], message: string, line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'TransferError';
    this.code = code;
    this.line = line;
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
 * The exported event's `metadata.integrity` (its hash and link in the source's chain) is dropped: the target
 * store seals every event into a chain of its own, whose hashes differ because they cover `created`, the
 * importing store's clock. The events, ids and positions are the same; `ledger verify` checks the new chain.
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
  for await (const event of store.readAll({ direction: 'backwards', maxCount: 1 }))
    return event.position.commit;
  return 0n;
}

export interface ImportResult {
  readonly events: number;
  readonly streams: number;
}

const BATCH = 1000;

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

async function appendAll(
  store: EventStore,
  lines: AsyncIterable<string>,
  onProgress?: (linesRead: number) => void,
): Promise<ImportResult> {
  const lastRevision = new Map<string, bigint>();
  let batch:
    | { events: EventData[]; streamId: string; expected: ExpectedRevision; firstLine: number }
    | undefined;
  let previousPosition: string | undefined;
  let events = 0;

  const flush = async () => {
    if (batch === undefined) return;
    const { streamId, expected, firstLine } = batch;
    const appending = batch.events;
    batch = undefined;
    try {
      await store.appendToStream(streamId, appending, { expectedRevision: expected });
    } catch (error) {
      const last = firstLine + appending.length - 1;
      throw new TransferError(
        'append-refused',
        `the store refused the events of lines ${firstLine}-${last}: ${(error as Error).message}`,
        firstLine,
      );
    }
  };

  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber += 1;
    onProgress?.(lineNumber);
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
    if (batch !== undefined && (batch.streamId !== event.streamId || batch.events.length >= BATCH))
      await flush();
    const data: EventData = {
      id: event.id,
      type: event.type,
      data: event.data,
      ...('metadata' in event ? { metadata: withoutSeal(event.metadata) } : {}),
    };
    if (batch === undefined) {
      batch = {
        events: [data],
        streamId: event.streamId,
        expected: revision === 0n ? 'no_stream' : revision - 1n,
        firstLine: lineNumber,
      };
    } else batch.events.push(data);
    events += 1;
  }
  await flush();
  return { events, streams: lastRevision.size };
}
