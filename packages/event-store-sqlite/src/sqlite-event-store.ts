import {
  type AllFilter,
  type AppendOptions,
  type AppendResult,
  CommitNotifier,
  catchUpSubscription,
  type EventData,
  type EventStore,
  EventStoreClosedError,
  InvalidAppendError,
  matchesFilter,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  StreamNotFoundError,
  type SubscribeToAllOptions,
  type Subscription,
  toJson,
  uuidV7,
  validateAppend,
} from '@ledger/event-store';
import { type CanonicalContent, canonicalContentOf, INTEGRITY_KEY } from '@ledger/integrity';
import type Database from 'better-sqlite3';
import { deserializeError } from './batch-writer.js';
import { DEFAULT_BUSY_TIMEOUT_MS, migrate, openConnection } from './schema.js';
import { MainThreadWriter, type OnCommit, WorkerThreadWriter, type Writer } from './writers.js';

export interface SqliteEventStoreOptions {
  /** The database file. Several processes may open the same file (WAL). */
  readonly path: string;
  /**
   * Where commits run. `'main-thread'` (default) commits in the caller's thread: in `npm run bench -- store`
   * it was 1.4x faster with one appender and level with the worker at 64 (within noise), taking the whole
   * queue in every commit. `'worker'` commits on a dedicated thread, so the fsync runs beside the caller.
   */
  readonly writer?: 'worker' | 'main-thread';
  /**
   * How often a subscription waiting for new events checks for commits made by other processes on the same
   * file. Commits made through this store wake subscriptions at once. Default 50 ms.
   */
  readonly pollIntervalMs?: number;
  /** Called after every group commit with its size and duration (metrics: append batch sizes). */
  readonly onCommit?: OnCommit;
  /**
   * Seal every event into the hash chain (default `true`): the writer adds `metadata.integrity = { hash, prev }`
   * (see `@ledger/integrity`). Event metadata must then be a JSON object (or absent) without an `integrity` key.
   * `false` stores metadata exactly as given; events written so are reported unsealed by `ledger verify`.
   */
  readonly integrity?: boolean;
  /**
   * How long a commit waits for the write lock while another connection (another process on the same file)
   * holds it, before its appends fail with `StoreBusyError` (`store-busy`: nothing appended, retry). The wait
   * blocks the writer's thread. Default 10 000 ms.
   */
  readonly busyTimeoutMs?: number;
}

interface EventRow {
  position: number;
  event_id: string;
  stream_id: string;
  revision: number;
  type: string;
  data: string;
  metadata: string | null;
  created: string;
}

const PAGE = 1000;
const COLUMNS = 'position, event_id, stream_id, revision, type, data, metadata, created';

function toRecorded(row: EventRow): RecordedEvent {
  const position = BigInt(row.position);
  return {
    id: row.event_id,
    streamId: row.stream_id,
    revision: BigInt(row.revision),
    type: row.type,
    data: JSON.parse(row.data),
    metadata: row.metadata === null ? undefined : JSON.parse(row.metadata),
    position: { commit: position, prepare: position },
    created: new Date(row.created),
  };
}

/**
 * With the integrity chain on, the stored metadata must be a JSON object the writer can add `integrity` to.
 * Checked on the serialised form: `toJSON` (a `Date`, a class instance) can turn an object into anything.
 */
function sealableMetadata(metadataJson: string | null): { readonly [key: string]: unknown } {
  if (metadataJson === null) return {};
  const metadata: unknown = JSON.parse(metadataJson);
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new InvalidAppendError('metadata must be a JSON object: the store adds metadata.integrity to it');
  }
  if (Object.hasOwn(metadata, INTEGRITY_KEY)) {
    throw new InvalidAppendError('metadata.integrity is reserved: the store writes the hash chain there');
  }
  return metadata as { readonly [key: string]: unknown };
}

// With the `u` flag a valid surrogate pair is one code point, so only a lone surrogate matches.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * What the seal hashes of an event's data and metadata, canonicalised here, before the writer's queue, so that
 * the write transaction only hashes the small envelope around it.
 */
function contentOf(
  streamName: string,
  event: { id: string; type: string; data: string; metadata: string | null },
): CanonicalContent {
  const { id, type, data } = event;
  const metadata = sealableMetadata(event.metadata);
  // The seal hashes these too: a lone surrogate has no canonical form (the writer would fail on it).
  for (const [what, text] of [
    ['stream name', streamName],
    ['event id', id],
    ['event type', type],
  ] as const) {
    if (LONE_SURROGATE.test(text))
      throw new InvalidAppendError(`${what} has no RFC 8785 canonical form: a lone surrogate`);
  }
  try {
    return canonicalContentOf(JSON.parse(data), metadata);
  } catch (error) {
    throw new InvalidAppendError(`event ${id} has no RFC 8785 canonical form: ${(error as Error).message}`);
  }
}

/** SQL and parameters for a `$all` filter; prefixes compare exact leading characters (no LIKE wildcards). */
function filterClause(filter: AllFilter | undefined): { sql: string; params: string[]; key: string } {
  if (filter === undefined) return { sql: '', params: [], key: '' };
  if (filter.streamNamePrefixes !== undefined) {
    const prefixes = filter.streamNamePrefixes;
    const sql = prefixes.map((p) => `substr(stream_id, 1, ${[...p].length}) = ?`).join(' OR ');
    return {
      sql: ` AND (${sql || '0'})`,
      params: [...prefixes],
      key: `p:${prefixes.map((p) => [...p].length).join(',')}`,
    };
  }
  const types = filter.eventTypes;
  return {
    sql: ` AND type IN (${types.map(() => '?').join(',') || 'NULL'})`,
    params: [...types],
    key: `t:${types.length}`,
  };
}

/**
 * The embedded event store on SQLite (better-sqlite3, WAL). Appends from concurrent callers are group
 * committed: one transaction and one fsync for all that arrived together, each append with its own
 * expected-revision check. Reads run on their own connection and never wait for the writer.
 *
 * @example
 * const store = await SqliteEventStore.open({ path: './data/ledger.db' });
 * await store.appendToStream('claim-1', [{ type: 'ClaimMade', data }], { expectedRevision: 'no_stream' });
 * await store.close();
 */
export class SqliteEventStore implements EventStore {
  readonly #reader: Database.Database;
  readonly #writer: Writer;
  readonly #notifier = new CommitNotifier();
  readonly #statements = new Map<string, Database.Statement>();
  readonly #poll: NodeJS.Timeout;
  readonly #integrity: boolean;
  #dataVersion: number;
  #closed: Promise<void> | undefined;

  private constructor(reader: Database.Database, writer: Writer, pollIntervalMs: number, integrity: boolean) {
    this.#reader = reader;
    this.#writer = writer;
    this.#integrity = integrity;
    this.#dataVersion = this.#readDataVersion();
    // Not unref'd: an open store keeps the process alive until close(), as the writer thread does, so a
    // subscription waiting for another process's commit is not cut short by an empty event loop.
    this.#poll = setInterval(() => this.#checkForeignCommits(), pollIntervalMs);
  }

  /** Opens (creating and migrating if needed) the store at `options.path`. */
  static async open(options: SqliteEventStoreOptions): Promise<SqliteEventStore> {
    const setup = openConnection(options.path, { role: 'writer' });
    try {
      migrate(setup);
    } finally {
      setup.close();
    }
    const reader = openConnection(options.path, { role: 'reader' });
    const integrity = options.integrity ?? true;
    const writerOptions = {
      path: options.path,
      onCommit: options.onCommit,
      integrity,
      busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    };
    const writer =
      options.writer === 'worker'
        ? new WorkerThreadWriter(writerOptions)
        : new MainThreadWriter(writerOptions);
    return new SqliteEventStore(reader, writer, options.pollIntervalMs ?? 50, integrity);
  }

  #readDataVersion(): number {
    return this.#reader.pragma('data_version', { simple: true }) as number;
  }

  /**
   * Looks for commits by other connections now rather than at the next poll: for a reader in another thread or
   * process that hears of a commit some other way (the all-in-one's projector thread is told of each group
   * commit), so that its subscriptions see the events at once. A subscription busy reading when the call comes
   * finds the commit on its next read or wait, as after any signal.
   */
  checkForCommits(): void {
    if (this.#closed === undefined) this.#checkForeignCommits(true);
  }

  /**
   * `data_version` changes when any other connection (another process, or our writer) commits. The poll looks
   * only while a subscription waits; `checkForCommits` always does.
   */
  #checkForeignCommits(evenWithoutWaiters = false): void {
    if (!evenWithoutWaiters && !this.#notifier.hasWaiters) return;
    let version: number;
    try {
      version = this.#readDataVersion();
    } catch {
      // A lock held through another process's recovery, or an I/O error: never crash the process from a
      // timer. Wake the subscriptions instead; their next read retries, or surfaces a lasting error to them.
      this.#notifier.signal();
      return;
    }
    if (version !== this.#dataVersion) {
      this.#dataVersion = version;
      this.#notifier.signal();
    }
  }

  #statement(key: string, sql: string): Database.Statement {
    let statement = this.#statements.get(key);
    if (statement === undefined) {
      statement = this.#reader.prepare(sql);
      this.#statements.set(key, statement);
    }
    return statement;
  }

  #ensureOpen(): void {
    if (this.#closed !== undefined) throw new EventStoreClosedError();
  }

  async appendToStream(
    streamName: string,
    events: readonly EventData[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.#ensureOpen();
    validateAppend(streamName, events, options.expectedRevision);
    const request = {
      streamName,
      expectedRevision: options.expectedRevision ?? 'any',
      events: events.map((event) => {
        const id = event.id ?? uuidV7();
        const data = toJson(event.data, 'data');
        const metadata = event.metadata === undefined ? null : toJson(event.metadata, 'metadata');
        const serialised = { id, type: event.type, data, metadata };
        return { ...serialised, content: this.#integrity ? contentOf(streamName, serialised) : null };
      }),
    };
    const outcome = await this.#writer.append(request);
    if (!outcome.ok) throw deserializeError(outcome.error);
    this.#notifier.signal();
    return {
      nextExpectedRevision: outcome.nextExpectedRevision,
      position: { commit: outcome.position, prepare: outcome.position },
    };
  }

  async *readStream(streamName: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    this.#ensureOpen();
    const backwards = options.direction === 'backwards';
    const head = this.#statement('head', 'SELECT max(revision) FROM events WHERE stream_id = ?')
      .pluck()
      .get(streamName) as number | null;
    if (head === null) throw new StreamNotFoundError(streamName);
    const from = options.fromRevision ?? (backwards ? 'end' : 'start');
    let next: number;
    if (from === 'start') next = 0;
    else if (from === 'end') next = backwards ? head : head + 1;
    else next = Number(from);
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    const page = this.#statement(
      backwards ? 'stream-back' : 'stream-fwd',
      backwards
        ? `SELECT ${COLUMNS} FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`
        : `SELECT ${COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?`,
    );
    while (remaining > 0) {
      this.#ensureOpen();
      const rows = page.all(streamName, next, Math.min(PAGE, remaining)) as EventRow[];
      for (const row of rows) yield toRecorded(row);
      remaining -= rows.length;
      if (rows.length < PAGE) return;
      next = backwards ? rows[rows.length - 1]!.revision - 1 : rows[rows.length - 1]!.revision + 1;
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    this.#ensureOpen();
    const backwards = options.direction === 'backwards';
    const from = options.fromPosition ?? (backwards ? 'end' : 'start');
    if (from === 'end' && !backwards) return;
    const filter = filterClause(options.filter);
    let next =
      from === 'start' ? 0 : from === 'end' ? Number.MAX_SAFE_INTEGER : Number((from as Position).commit);
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    const page = this.#statement(
      `all-${backwards ? 'back' : 'fwd'}-${filter.key}`,
      backwards
        ? `SELECT ${COLUMNS} FROM events WHERE position <= ?${filter.sql} ORDER BY position DESC LIMIT ?`
        : `SELECT ${COLUMNS} FROM events WHERE position >= ?${filter.sql} ORDER BY position LIMIT ?`,
    );
    while (remaining > 0) {
      this.#ensureOpen();
      const rows = page.all(next, ...filter.params, Math.min(PAGE, remaining)) as EventRow[];
      for (const row of rows) yield toRecorded(row);
      remaining -= rows.length;
      if (rows.length < PAGE) return;
      next = backwards ? rows[rows.length - 1]!.position - 1 : rows[rows.length - 1]!.position + 1;
    }
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    this.#ensureOpen();
    const from = options.fromPosition ?? 'start';
    const start =
      from === 'start'
        ? 0
        : from === 'end'
          ? ((this.#statement('last', 'SELECT max(position) FROM events').pluck().get() as number | null) ??
            0)
          : Number(from.commit);
    // Pages walk the primary key and the filter applies in JS, so the cursor passes every scanned row: a
    // filter that matches nothing recent never makes a wake-up rescan the log from its last match.
    const page = this.#statement(
      'after',
      `SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`,
    );
    const { filter } = options;
    return catchUpSubscription(
      start,
      (after, limit) => {
        if (this.#closed !== undefined) return { events: [], next: after, more: false };
        const rows = page.all(after, limit) as EventRow[];
        const events: RecordedEvent[] = [];
        for (const row of rows) {
          if (matchesFilter(filter, row.stream_id, row.type)) events.push(toRecorded(row));
        }
        return {
          events,
          next: rows.length > 0 ? rows[rows.length - 1]!.position : after,
          more: rows.length === limit,
        };
      },
      this.#notifier,
    );
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#poll);
      await this.#writer.close();
      this.#notifier.close();
      this.#reader.close();
    })();
    return this.#closed;
  }
}
