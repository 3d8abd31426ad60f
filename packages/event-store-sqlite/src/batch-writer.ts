import {
  checkExpectedRevision,
  DuplicateEventIdError,
  EventStoreError,
  type ExpectedRevision,
  NO_STREAM,
  StoreBusyError,
  WrongExpectedVersionError,
} from '@ledger/event-store';
import { type CanonicalContent, eventHashOfContent, GENESIS_HASH, INTEGRITY_KEY } from '@ledger/integrity';
import type Database from 'better-sqlite3';

/**
 * One append as the writer receives it: ids chosen and JSON serialised by the caller, so it crosses threads
 * cheaply. `content` is the canonical data and metadata the seal hashes, also computed by the caller, outside
 * the write lock (`null` when the store does not seal).
 */
export interface AppendRequest {
  readonly streamName: string;
  readonly expectedRevision: ExpectedRevision;
  readonly events: ReadonlyArray<{
    id: string;
    type: string;
    data: string;
    metadata: string | null;
    content: CanonicalContent | null;
  }>;
}

/** The outcome of one append, as plain data that survives `postMessage`. */
export type AppendOutcome =
  | { readonly ok: true; readonly nextExpectedRevision: bigint; readonly position: bigint }
  | { readonly ok: false; readonly error: SerializedError };

export interface SerializedError {
  readonly code: string;
  readonly message: string;
  readonly streamName?: string;
  readonly expectedVersion?: ExpectedRevision;
  readonly actualVersion?: bigint | 'no_stream';
  readonly eventId?: string;
}

/** The last event of the log as the chain sees it: the next event links to its hash. */
interface ChainHead {
  position: bigint;
  hash: string;
}

interface StoredEventRow {
  stream_id: string;
  revision: number;
  position: number;
}

function serialize(error: unknown): SerializedError {
  if (error instanceof WrongExpectedVersionError) {
    return {
      code: error.code,
      message: error.message,
      streamName: error.streamName,
      expectedVersion: error.expectedVersion,
      actualVersion: error.actualVersion,
    };
  }
  if (error instanceof DuplicateEventIdError)
    return { code: error.code, message: error.message, eventId: error.eventId };
  if (error instanceof EventStoreError) return { code: error.code, message: error.message };
  const code = (error as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'storage-failure', message: (error as Error).message };
}

/** Turns a serialised outcome error back into the port's typed error. */
export function deserializeError(error: SerializedError): Error {
  switch (error.code) {
    case WrongExpectedVersionError.code:
      return new WrongExpectedVersionError(error.streamName!, error.expectedVersion!, error.actualVersion!);
    case DuplicateEventIdError.code:
      return new DuplicateEventIdError(error.eventId!, error.message.replace(/^event \S+: /, ''));
    case StoreBusyError.code:
      return new StoreBusyError(error.message.replace(/^the event store is busy: /, ''));
    default:
      return new EventStoreError(error.code, error.message);
  }
}

/**
 * Commits many appends in one transaction (group commit: one fsync for the whole batch) while each append
 * keeps its own expected-revision check. Each append runs in its own savepoint, so one that conflicts is
 * rolled back and reported alone and the others still commit. Synchronous: it runs wherever the writer
 * connection lives, the main thread or a worker.
 */
export class BatchWriter {
  readonly #db: Database.Database;
  readonly #head: Database.Statement<[string], number | null>;
  readonly #byId: Database.Statement<[string], StoredEventRow>;
  readonly #insert: Database.Statement<
    [bigint | null, string, string, bigint, string, string, string | null, string]
  >;
  readonly #chainHead: Database.Statement<[], { position: number; hash: string | null }>;
  readonly #integrity: boolean;
  /**
   * The chain head as the current transaction left it: read once per transaction, then carried from append to
   * append. `#sealedHead` is the head an append leaves behind; it becomes the head only once the append's
   * savepoint is released (as `#chain`), so a rolled-back append leaves no link behind.
   */
  #chain: ChainHead | undefined;
  #sealedHead: ChainHead | undefined;
  /** Whether the current commit got past `BEGIN IMMEDIATE`, i.e. took the write lock. */
  #began = false;
  readonly #appendOne: (request: AppendRequest, created: string) => AppendOutcome;
  readonly #commitAll: Database.Transaction<
    (requests: readonly AppendRequest[], outcomes: AppendOutcome[], created: string) => void
  >;

  /**
   * With `integrity` (the store's default), every event is sealed as it is inserted: its hash over its
   * canonical form and the hash of the event before it in position order go into `metadata.integrity`. The
   * previous hash is read inside the append's own savepoint of the IMMEDIATE transaction, so the link is made
   * while this connection holds the database's write lock: appends from other processes, and appends earlier in
   * the same group commit, are always linked in commit order, and a rolled-back append leaves no link behind.
   */
  constructor(db: Database.Database, options: { integrity?: boolean } = {}) {
    this.#db = db;
    this.#integrity = options.integrity ?? true;
    this.#head = db
      .prepare<[string], number | null>('SELECT max(revision) FROM events WHERE stream_id = ?')
      .pluck();
    this.#byId = db.prepare<[string], StoredEventRow>(
      'SELECT stream_id, revision, position FROM events WHERE event_id = ?',
    );
    this.#insert = db.prepare(
      'INSERT INTO events (position, event_id, stream_id, revision, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#chainHead = db.prepare<[], { position: number; hash: string | null }>(
      `SELECT position, json_extract(metadata, '$.${INTEGRITY_KEY}.hash') AS hash FROM events ORDER BY position DESC LIMIT 1`,
    );
    // A transaction function called inside another one runs as a savepoint: a throw rolls back this append only.
    this.#appendOne = db.transaction((request: AppendRequest, created: string) =>
      this.#append(request, created),
    );
    this.#commitAll = db.transaction(
      (requests: readonly AppendRequest[], outcomes: AppendOutcome[], created: string) => {
        this.#began = true;
        this.#chain = undefined;
        for (const request of requests) {
          try {
            this.#sealedHead = undefined;
            outcomes.push(this.#appendOne(request, created));
            if (this.#sealedHead !== undefined) this.#chain = this.#sealedHead;
          } catch (error) {
            // SQLITE_FULL, IOERR and NOMEM roll back the whole transaction, not just the savepoint: going on
            // would run the rest of the batch as autocommits, storing appends that are all reported failed.
            if (!this.#db.inTransaction) throw error;
            outcomes.push({ ok: false, error: serialize(error) });
          }
        }
      },
    );
  }

  /** Commits the batch and returns one outcome per request, in order. Never throws. */
  commit(requests: readonly AppendRequest[]): AppendOutcome[] {
    const outcomes: AppendOutcome[] = [];
    this.#began = false;
    try {
      this.#commitAll.immediate(requests, outcomes, new Date().toISOString());
      return outcomes;
    } catch (error) {
      // The transaction failed as a whole, so every append of the batch gets its error. Refused at BEGIN (another
      // connection kept the write lock past the busy timeout), nothing was written: `StoreBusyError`, to be
      // retried as is. A failed COMMIT (disk full, an I/O error in its fsync) may have left the batch on disk:
      // the outcome is unknown, and the error says only what SQLite said.
      const refused = !this.#began && String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY');
      const failure: AppendOutcome = {
        ok: false,
        error: serialize(refused ? new StoreBusyError((error as Error).message) : error),
      };
      return requests.map(() => failure);
    }
  }

  #append(request: AppendRequest, created: string): AppendOutcome {
    const replay = this.#replayOf(request);
    if (replay !== undefined) return replay;
    const head = this.#head.get(request.streamName);
    const current = head === null || head === undefined ? NO_STREAM : BigInt(head);
    checkExpectedRevision(request.streamName, request.expectedRevision, current);
    let position = 0n;
    let revision = current;
    let chain = this.#integrity ? (this.#chain ?? this.#readChainHead()) : undefined;
    for (const event of request.events) {
      revision += 1n;
      let metadata = event.metadata;
      let explicitPosition: bigint | null = null;
      if (chain !== undefined) {
        explicitPosition = chain.position + 1n;
        const sealed = seal(event, {
          prev: chain.hash,
          position: explicitPosition,
          streamId: request.streamName,
          revision,
          created,
        });
        metadata = sealed.metadata;
        chain = { position: explicitPosition, hash: sealed.hash };
      }
      try {
        const result = this.#insert.run(
          explicitPosition,
          event.id,
          request.streamName,
          revision,
          event.type,
          event.data,
          metadata,
          created,
        );
        position = BigInt(result.lastInsertRowid);
      } catch (error) {
        if ((error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new DuplicateEventIdError(event.id, 'already stored');
        }
        throw error;
      }
    }
    this.#sealedHead = chain;
    return { ok: true, nextExpectedRevision: revision, position };
  }

  /**
   * The last event's position and hash. An event stored without integrity fields (by a store opened with
   * `integrity: false`) restarts the chain from `GENESIS_HASH`; verification reports it as unsealed.
   */
  #readChainHead(): ChainHead {
    const row = this.#chainHead.get();
    if (row === undefined) return { position: 0n, hash: GENESIS_HASH };
    return { position: BigInt(row.position), hash: row.hash ?? GENESIS_HASH };
  }

  /** The original outcome when the append's events are already stored, in order, in this stream (a retry). */
  #replayOf(request: AppendRequest): AppendOutcome | undefined {
    const first = this.#byId.get(request.events[0]!.id);
    if (first === undefined) return undefined;
    let last = first;
    for (let index = 0; index < request.events.length; index += 1) {
      const stored = index === 0 ? first : this.#byId.get(request.events[index]!.id);
      if (stored?.stream_id !== request.streamName || stored.revision !== first.revision + index) {
        throw new DuplicateEventIdError(request.events[0]!.id, 'stored by another append');
      }
      last = stored;
    }
    return { ok: true, nextExpectedRevision: BigInt(last.revision), position: BigInt(last.position) };
  }

  close(): void {
    this.#db.close();
  }
}

/**
 * An event's stored metadata with its chain link added, and its hash. The position is chosen by the caller
 * (the next after the chain head) rather than left to SQLite, because the hash covers it.
 */
function seal(
  event: AppendRequest['events'][number],
  link: { prev: string; position: bigint; streamId: string; revision: bigint; created: string },
): { metadata: string; hash: string } {
  // A sealing store always sends the content (SqliteEventStore.appendToStream computes it).
  const hash = eventHashOfContent({ ...link, id: event.id, type: event.type }, event.content!);
  const integrity = `"${INTEGRITY_KEY}":${JSON.stringify({ hash, prev: link.prev })}`;
  // The metadata text is JSON.stringify of an object without an `integrity` member (checked by the store):
  // the member is spliced in before its closing brace rather than parsed and serialised again.
  const metadata =
    event.metadata === null || event.metadata === '{}'
      ? `{${integrity}}`
      : `${event.metadata.slice(0, -1)},${integrity}}`;
  return { metadata, hash };
}
