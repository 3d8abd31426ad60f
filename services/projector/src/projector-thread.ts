import { Worker } from 'node:worker_threads';
import type { LedgerConfig } from '@ledger/config';
import type { ProjectedBatch } from '@ledger/projections';
import type { Logger } from 'pino';

/** The configuration the thread opens its store and read.db with. */
type ProjectorThreadConfig = Pick<LedgerConfig, 'store' | 'dataDir' | 'eventStoreDbUrl'>;

/** What the thread is started with (structured-cloned into it). */
export interface ProjectorThreadData {
  readonly config: ProjectorThreadConfig;
  readonly logLevel: string;
  readonly batchSize?: number;
}

export type ToProjectorThread = { readonly kind: 'committed' } | { readonly kind: 'stop' };

export type FromProjectorThread =
  | { readonly kind: 'started'; readonly position: number }
  | { readonly kind: 'progress'; readonly position: number; readonly batch: ProjectedBatch }
  | { readonly kind: 'log'; readonly line: string }
  | { readonly kind: 'stopped'; readonly position: number };

export interface ProjectorThreadOptions {
  readonly config: ProjectorThreadConfig;
  /** Receives the thread's log lines, at its level. */
  readonly logger: Logger;
  /** Events per read.db transaction (default 500). */
  readonly batchSize?: number;
  /** Delay before a thread that died is started again (default 1 s). */
  readonly restartDelayMs?: number;
  /** How long `close()` waits for the thread to stop its runtime before terminating it (default 10 s). */
  readonly stopTimeoutMs?: number;
}

type ProgressListener = (position: number, batch: ProjectedBatch) => void;

/**
 * The projector of the all-in-one ledger in a worker thread: the same runtime as the projector process, on its
 * own connections to the store and read.db, so that folding events never stalls the HTTP routes' event loop
 * (with the projector inline, 20–28% of that loop's time under ingest went to it). It reports progress as
 * `ProjectionRuntime` does, for `LedgerQueries` (waits for `minPosition`, SSE) and the metrics. Call
 * `committed()` after each commit of the store in this process: the thread then reads it at once instead of
 * at its next poll. A thread that dies is logged and started again from read.db's checkpoint.
 *
 * @example
 * ```ts
 * const projector = await ProjectorThread.start({ config, logger: logger.child({ component: 'projector' }) });
 * const queries = LedgerQueries.open(readDbPath, { runtime: projector });
 * await projector.close();
 * ```
 */
export class ProjectorThread {
  readonly #options: ProjectorThreadOptions;
  readonly #listeners = new Set<ProgressListener>();
  #worker: Worker;
  #position = 0;
  #closing: Promise<void> | undefined;
  #restart: NodeJS.Timeout | undefined;
  /** A replacement thread being started: `close()` waits for it, then stops it. */
  #spawning: Promise<void> | undefined;

  private constructor(options: ProjectorThreadOptions, worker: Worker, position: number) {
    this.#options = options;
    this.#worker = worker;
    this.#position = position;
    this.#watch(worker);
  }

  /** Starts the thread; resolves once its runtime runs, rejects with its error if it cannot start. */
  static async start(options: ProjectorThreadOptions): Promise<ProjectorThread> {
    const { worker, position } = await spawn(options);
    return new ProjectorThread(options, worker, position);
  }

  /** The last store position folded into the read models, as the thread last reported it. */
  position(): number {
    return this.#position;
  }

  /** Calls `listener` after each batch the thread commits; returns the function that stops it. */
  onProgress(listener: ProgressListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Tells the thread the store just committed, so it reads the new events now. */
  committed(): void {
    if (this.#closing === undefined)
      this.#worker.postMessage({ kind: 'committed' } satisfies ToProjectorThread);
  }

  /**
   * Stops the runtime after its batch in flight, closes the thread's connections and ends the thread (also one
   * being started again meanwhile); a thread that does not stop within `stopTimeoutMs` is terminated.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#restart);
      await this.#spawning;
      await stopThread(this.#worker, this.#options.stopTimeoutMs ?? 10_000);
    })();
    return this.#closing;
  }

  #watch(worker: Worker): void {
    const logger = this.#options.logger;
    worker.on('message', (message: FromProjectorThread) => {
      switch (message.kind) {
        case 'progress':
          this.#position = message.position;
          for (const listener of this.#listeners) listener(message.position, message.batch);
          return;
        case 'log':
          relayLog(logger, message.line);
          return;
        case 'stopped':
        case 'started':
          this.#position = message.position;
          return;
      }
    });
    worker.on('error', (error) => logger.error({ err: error }, 'the projector thread failed'));
    worker.on('exit', (code) => {
      if (this.#closing !== undefined) return;
      const delayMs = this.#options.restartDelayMs ?? 1000;
      logger.error({ code, delayMs }, 'the projector thread ended; starting it again');
      this.#restart = setTimeout(() => this.#respawn(), delayMs);
    });
  }

  #respawn(): void {
    this.#spawning = (async () => {
      try {
        const { worker, position } = await spawn(this.#options);
        // Taken on even while closing: close() waits for this and stops it.
        this.#worker = worker;
        this.#position = position;
        this.#watch(worker);
      } catch (error) {
        if (this.#closing !== undefined) return;
        const delayMs = this.#options.restartDelayMs ?? 1000;
        this.#options.logger.error(
          { err: error, delayMs },
          'the projector thread could not start; trying again',
        );
        this.#restart = setTimeout(() => this.#respawn(), delayMs);
      }
    })();
  }
}

/** Asks `worker` to stop and waits for it to end; terminates it after `timeoutMs`. */
async function stopThread(worker: Worker, timeoutMs: number): Promise<void> {
  if (worker.threadId === -1) return;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ kind: 'stop' } satisfies ToProjectorThread);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  if ((await Promise.race([exited, late])) === 'late') await worker.terminate();
  clearTimeout(timer);
}

function spawn(options: ProjectorThreadOptions): Promise<{ worker: Worker; position: number }> {
  const data: ProjectorThreadData = {
    config: {
      store: options.config.store,
      dataDir: options.config.dataDir,
      eventStoreDbUrl: options.config.eventStoreDbUrl,
    },
    logLevel: options.logger.level,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
  };
  const worker = new Worker(new URL('./projector.worker.js', import.meta.url), { workerData: data });
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromProjectorThread) => {
      if (message.kind === 'log') relayLog(options.logger, message.line);
      if (message.kind !== 'started') return;
      settle();
      resolve({ worker, position: message.position });
    };
    const onError = (error: Error) => {
      settle();
      reject(error);
    };
    const onExit = (code: number) => {
      settle();
      reject(new Error(`the projector thread exited with code ${code} before it started`));
    };
    const settle = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}

/** Logs a pino line of the thread through `logger`, at the line's level, with its fields. */
function relayLog(logger: Logger, line: string): void {
  const { level, msg, ...fields } = JSON.parse(line) as { level: number; msg?: string } & Record<
    string,
    unknown
  >;
  const label = logger.levels.labels[level] ?? 'info';
  (logger[label as 'info'] as (fields: object, msg?: string) => void).call(logger, fields, msg);
}
