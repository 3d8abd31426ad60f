import { Worker } from 'node:worker_threads';
import { type AppendOutcome, type AppendRequest, BatchWriter } from './batch-writer.js';
import { openConnection } from './schema.js';

/** What one group commit did: reported to `onCommit` for metrics and for tests of the batching itself. */
export interface CommitInfo {
  /** Appends committed or refused in this transaction. */
  readonly appends: number;
  /** Milliseconds the transaction took, fsync included. */
  readonly durationMs: number;
}

export type OnCommit = (info: CommitInfo) => void;

/** Commits a batch and measures it: shared by both writer placements. */
export function commitMeasured(
  writer: BatchWriter,
  requests: readonly AppendRequest[],
): {
  outcomes: AppendOutcome[];
  info: CommitInfo;
} {
  const started = performance.now();
  const outcomes = writer.commit(requests);
  return { outcomes, info: { appends: requests.length, durationMs: performance.now() - started } };
}

/** What both writer placements are opened with. */
export interface WriterOptions {
  readonly path: string;
  readonly onCommit?: OnCommit | undefined;
  /** Seal every event into the hash chain. */
  readonly integrity: boolean;
  /** How long a commit waits for another connection's write lock before the batch fails with `store-busy`. */
  readonly busyTimeoutMs: number;
}

/**
 * Reports a commit to `onCommit` after its appends were answered. An observer that throws must neither fail
 * nor strand the appends it observes: its error becomes a process warning.
 */
export function reportCommit(onCommit: OnCommit | undefined, info: CommitInfo): void {
  try {
    onCommit?.(info);
  } catch (error) {
    process.emitWarning(error as Error);
  }
}

/** Where appends are committed. Both kinds batch whatever arrived while the previous commit ran. */
export interface Writer {
  append(request: AppendRequest): Promise<AppendOutcome>;
  /** Commits what is queued, then releases the connection. */
  close(): Promise<void>;
}

/** Largest number of appends in one transaction: bounds the latency a single commit adds to its batch. */
export const MAX_BATCH = 1024;

interface Pending {
  readonly request: AppendRequest;
  readonly resolve: (outcome: AppendOutcome) => void;
}

/**
 * Group commit on the main thread: appends queue up until the current macrotask ends, then commit together.
 * Simple, but each commit's fsync blocks the event loop, so requests cannot be accepted meanwhile.
 */
export class MainThreadWriter implements Writer {
  readonly #writer: BatchWriter;
  readonly #onCommit: OnCommit | undefined;
  #queue: Pending[] = [];
  #scheduled = false;

  constructor(options: WriterOptions) {
    this.#writer = new BatchWriter(
      openConnection(options.path, { role: 'writer', busyTimeoutMs: options.busyTimeoutMs }),
      { integrity: options.integrity },
    );
    this.#onCommit = options.onCommit;
  }

  append(request: AppendRequest): Promise<AppendOutcome> {
    return new Promise((resolve) => {
      this.#queue.push({ request, resolve });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      const { outcomes, info } = commitMeasured(
        this.#writer,
        batch.map((pending) => pending.request),
      );
      batch.forEach((pending, index) => {
        pending.resolve(outcomes[index]!);
      });
      reportCommit(this.#onCommit, info);
    }
  }

  async close(): Promise<void> {
    this.#flush();
    this.#writer.close();
  }
}

/** What the writer thread is started with. */
export type WriterThreadData = Omit<WriterOptions, 'onCommit'>;

/** Messages between the store and its writer thread. */
export type ToWriterThread =
  | { readonly kind: 'append'; readonly id: number; readonly request: AppendRequest }
  | { readonly kind: 'close' };
export type FromWriterThread =
  | {
      readonly kind: 'outcomes';
      readonly ids: readonly number[];
      readonly outcomes: readonly AppendOutcome[];
      readonly info: CommitInfo;
    }
  | { readonly kind: 'closed' };

/**
 * Group commit on a dedicated worker thread: the fsync happens off the main thread, which keeps accepting
 * requests (and queueing appends for the next batch) while a commit is in flight.
 */
export class WorkerThreadWriter implements Writer {
  readonly #worker: Worker;
  readonly #pending = new Map<number, (outcome: AppendOutcome) => void>();
  #nextId = 0;
  #closed: Promise<void> | undefined;
  #failure: Error | undefined;

  constructor(options: WriterOptions) {
    const { path, integrity, busyTimeoutMs, onCommit } = options;
    this.#worker = new Worker(new URL('./sqlite-writer.worker.js', import.meta.url), {
      workerData: { path, integrity, busyTimeoutMs } satisfies WriterThreadData,
    });
    this.#worker.on('message', (message: FromWriterThread) => {
      if (message.kind !== 'outcomes') return;
      message.ids.forEach((id, index) => {
        this.#pending.get(id)?.(message.outcomes[index]!);
        this.#pending.delete(id);
      });
      reportCommit(onCommit, message.info);
    });
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => {
      if (this.#closed === undefined)
        this.#fail(new Error(`the SQLite writer thread exited with code ${code}`));
    });
  }

  /** A dead writer fails every waiting append: none of them was acknowledged, so none is lost silently. */
  #fail(error: Error): void {
    this.#failure = error;
    const failure: AppendOutcome = { ok: false, error: { code: 'storage-failure', message: error.message } };
    for (const resolve of this.#pending.values()) resolve(failure);
    this.#pending.clear();
  }

  append(request: AppendRequest): Promise<AppendOutcome> {
    if (this.#failure !== undefined) {
      return Promise.resolve({
        ok: false,
        error: { code: 'storage-failure', message: this.#failure.message },
      });
    }
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#worker.postMessage({ kind: 'append', id, request } satisfies ToWriterThread);
    });
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.#failure !== undefined) {
        resolve();
        return;
      }
      this.#worker.once('exit', () => resolve());
      this.#worker.postMessage({ kind: 'close' } satisfies ToWriterThread);
    });
    return this.#closed;
  }
}
