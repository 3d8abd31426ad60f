import type { EventStore, Position, RecordedEvent, Subscription } from '@ledger/event-store';
import type { Logger } from 'pino';
import { actorsProjection } from './actors.projection.js';
import { claimEventsProjection } from './claim-events.projection.js';
import { claimsProjection } from './claims.projection.js';
import { decodeClaimEvent, type ProjectedEvent } from './decode.js';
import { ProjectionError } from './errors.js';
import type { Projection, ReadModelTx } from './projection.js';
import { CHECKPOINT_NAME, type ReadModels, readModelsInternals } from './read-models.js';
import { recreateTables } from './schema.js';

/** The read-model projections, in the order a batch applies them (`actors` reads `claim_events`' rows). */
export const projections: readonly Projection[] = [claimEventsProjection, claimsProjection, actorsProjection];

/** The most events one read.db transaction folds. */
export const DEFAULT_BATCH_SIZE = 500;

export interface ProjectionRuntimeOptions {
  readonly store: EventStore;
  readonly readModels: ReadModels;
  readonly logger: Logger;
  /** At most this many events per transaction (default 500). */
  readonly batchSize?: number;
  /** First delay before re-subscribing after a failure; doubles up to 30 s (default 100 ms). */
  readonly retryDelayMs?: number;
}

/** Progress of a rebuild: `done` is the last position folded, `total` the store's last position. */
export interface RebuildProgress {
  readonly done: number;
  readonly total: number;
}

export interface RebuildOptions {
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Events per transaction during the rebuild (default 5000, see `REBUILD_BATCH_SIZE`). */
  readonly batchSize?: number;
}

/**
 * A rebuild folds in larger transactions than the live runtime: nobody waits on its fine-grained progress,
 * and every batch recomputes each actor it touched from all of that actor's rows, so ten times fewer
 * batches is close to ten times less of that work on a large ledger (measured by `scripts/scale-check.js`).
 */
export const REBUILD_BATCH_SIZE = 5000;

const TICK = Symbol('tick');
const MAX_RETRY_DELAY_MS = 30_000;

const UPSERT_CHECKPOINT = `INSERT INTO checkpoints (name, position, prepare) VALUES (?, ?, ?)
  ON CONFLICT (name) DO UPDATE SET position = excluded.position, prepare = excluded.prepare`;

/**
 * Folds the event store into the read models. `start()` subscribes to `$all` from the stored checkpoint
 * (exclusive) and applies events in batches (up to `batchSize`, or what is immediately available: it never
 * waits to fill a batch), each in ONE read.db transaction that also writes the checkpoint. A crash mid-batch
 * leaves the previous checkpoint and none of the batch's rows, so every event takes effect exactly once.
 * Events of other streams only advance the checkpoint.
 *
 * A failure (read.db busy beyond its timeout, a store error) is logged and the runtime re-subscribes from its
 * checkpoint after a growing delay; `stop()` ends it.
 *
 * @example
 * ```ts
 * const runtime = new ProjectionRuntime({ store, readModels, logger });
 * runtime.start();
 * const off = runtime.onProgress((position) => console.log('folded up to', position));
 * await runtime.stop();
 * ```
 */
export class ProjectionRuntime {
  readonly #store: EventStore;
  readonly #readModels: ReadModels;
  readonly #log: Logger;
  readonly #batchSize: number;
  readonly #retryDelayMs: number;
  readonly #listeners = new Set<(position: number) => void>();
  #position: number;
  #loop: Promise<void> | undefined;
  #subscription: Subscription | undefined;
  #stopping = false;
  #active = false;
  #wakeRetry: (() => void) | undefined;
  #failures = 0;

  constructor(options: ProjectionRuntimeOptions) {
    this.#store = options.store;
    this.#readModels = options.readModels;
    this.#log = options.logger;
    this.#batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
    this.#retryDelayMs = options.retryDelayMs ?? 100;
    this.#position = options.readModels.checkpoint()?.position ?? 0;
  }

  /** The last position folded and committed (0 before the first batch). */
  position(): number {
    return this.#position;
  }

  /** Whether the runtime was started and not stopped, and its subscription has not ended. */
  get running(): boolean {
    return this.#active && !this.#stopping;
  }

  /** Consecutive failures since the last committed batch (0 when healthy). */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Calls `listener(position)` after every committed batch (in this process). Returns the function that
   * removes it. `LedgerQueries.waitForPosition` wakes on it.
   */
  onProgress(listener: (position: number) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Subscribes from the stored checkpoint and folds in the background until `stop()`. */
  start(): void {
    if (this.#loop !== undefined) return;
    const internals = readModelsInternals(this.#readModels);
    if (internals.owner !== undefined && internals.owner !== this) {
      throw new ProjectionError('runtime-running', 'another runtime already folds into these read models');
    }
    internals.owner = this;
    this.#stopping = false;
    this.#active = true;
    this.#loop = this.#run().finally(() => {
      this.#active = false;
      if (internals.owner === this) internals.owner = undefined;
    });
  }

  /** Ends the subscription and waits for the batch in flight to commit. Idempotent. */
  async stop(): Promise<void> {
    const loop = this.#loop;
    if (loop === undefined) return;
    this.#stopping = true;
    this.#wakeRetry?.();
    await this.#subscription?.unsubscribe();
    await loop;
    this.#loop = undefined;
  }

  /**
   * Drops and recreates the read-model tables, then replays `$all` from the start, in batches, calling
   * `onProgress({ done, total })` after each (`total` is the store's last position when the rebuild began,
   * raised to `done` if events arrive meanwhile). It stops nothing itself: stop the runtime first, or it
   * throws `runtime-running`. Readers see the rebuild's progress: the checkpoint moves with the rows.
   *
   * @example
   * ```ts
   * await runtime.stop();
   * await runtime.rebuild({ onProgress: ({ done, total }) => bar.update(done, { total }) });
   * runtime.start();
   * ```
   */
  async rebuild(options: RebuildOptions = {}): Promise<RebuildProgress> {
    const internals = readModelsInternals(this.#readModels);
    if (this.#loop !== undefined || internals.owner !== undefined) {
      throw new ProjectionError('runtime-running', 'stop the projection runtime before rebuilding');
    }
    internals.owner = this;
    try {
      let total = 0;
      for await (const last of this.#store.readAll({ direction: 'backwards', maxCount: 1 })) {
        total = Number(last.position.commit);
      }
      const started = performance.now();
      internals.db.transaction(() => recreateTables(internals.db)).immediate();
      this.#position = 0;
      let progress: RebuildProgress = { done: 0, total };
      options.onProgress?.(progress);
      const batchSize = Math.max(1, options.batchSize ?? REBUILD_BATCH_SIZE);
      let batch: RecordedEvent[] = [];
      let events = 0;
      const flush = () => {
        this.#applyBatch(batch);
        events += batch.length;
        batch = [];
        progress = { done: this.#position, total: Math.max(total, this.#position) };
        options.onProgress?.(progress);
      };
      for await (const event of this.#store.readAll()) {
        batch.push(event);
        if (batch.length >= batchSize) flush();
      }
      if (batch.length > 0) flush();
      const seconds = (performance.now() - started) / 1000;
      this.#log.info({ events, position: this.#position, seconds }, 'read models rebuilt');
      return progress;
    } finally {
      internals.owner = undefined;
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        await this.#consume();
        return;
      } catch (error) {
        if (this.#stopping) return;
        this.#failures += 1;
        const delay = Math.min(MAX_RETRY_DELAY_MS, this.#retryDelayMs * 2 ** (this.#failures - 1));
        this.#log.error(
          { err: error, position: this.#position, failures: this.#failures, retryInMs: delay },
          'projection failed; resubscribing from the checkpoint',
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.#wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wakeRetry = undefined;
      }
    }
  }

  /** Follows one subscription until it ends (stop, store closed) or fails. */
  async #consume(): Promise<void> {
    const checkpoint = this.#readModels.checkpoint();
    const fromPosition: Position | 'start' =
      checkpoint === undefined
        ? 'start'
        : { commit: BigInt(checkpoint.position), prepare: checkpoint.prepare };
    const subscription = this.#store.subscribeToAll({ fromPosition });
    this.#subscription = subscription;
    this.#log.info({ from: checkpoint?.position ?? 0 }, 'projection subscribed');
    const events = subscription[Symbol.asyncIterator]();
    try {
      // A `next()` that was not ready when a batch closed: the next batch starts with it.
      let pending: Promise<IteratorResult<RecordedEvent>> | undefined;
      for (;;) {
        const first = await (pending ?? events.next());
        pending = undefined;
        if (first.done === true || this.#stopping) return;
        const batch = [first.value];
        // Events that are already there arrive in microtasks; the tick fires once the subscription has to
        // wait for new commits, and closes the batch with what it has.
        const tick = new Promise<typeof TICK>((resolve) => setImmediate(resolve, TICK));
        let ended = false;
        while (batch.length < this.#batchSize) {
          const next = events.next();
          const result = await Promise.race([next, tick]);
          if (result === TICK) {
            pending = next;
            break;
          }
          if (result.done === true) {
            ended = true;
            break;
          }
          batch.push(result.value);
        }
        this.#applyBatch(batch);
        if (ended) return;
      }
    } finally {
      this.#subscription = undefined;
      await subscription.unsubscribe();
    }
  }

  /** Folds a batch and its checkpoint in one transaction, then tells the waiters. */
  #applyBatch(batch: readonly RecordedEvent[]): void {
    const last = batch.at(-1);
    if (last === undefined) return;
    const internals = readModelsInternals(this.#readModels);
    const decoded: ProjectedEvent[] = [];
    for (const recorded of batch) {
      const result = decodeClaimEvent(recorded);
      if (result.ok) decoded.push(result.projected);
      else if (result.reason !== 'not-a-claim-stream') {
        // Unknown types come from newer writers and are skipped by design (debug); invalid data is a warning.
        this.#log[result.reason === 'invalid' ? 'warn' : 'debug'](
          {
            position: Number(recorded.position.commit),
            eventId: recorded.id,
            type: recorded.type,
            reason: result.reason,
            detail: result.detail,
          },
          'claim event not projected',
        );
      }
    }
    const tx: ReadModelTx = {
      statement: internals.statement,
      skipped: (projected, reason) => {
        this.#log.warn(
          { position: projected.position, eventId: projected.eventId, reason },
          'claim event not projected',
        );
      },
    };
    internals.db
      .transaction(() => {
        for (const projection of projections) {
          const handled = decoded.filter((projected) => projection.handles.includes(projected.event.type));
          if (handled.length > 0) projection.apply(handled, tx);
        }
        internals
          .statement(UPSERT_CHECKPOINT)
          .run(CHECKPOINT_NAME, Number(last.position.commit), last.position.prepare);
      })
      .immediate();
    this.#position = Number(last.position.commit);
    this.#failures = 0;
    for (const listener of this.#listeners) {
      try {
        listener(this.#position);
      } catch (error) {
        this.#log.error({ err: error }, 'progress listener failed');
      }
    }
  }
}

export interface RebuildRequest extends RebuildOptions {
  readonly store: EventStore;
  readonly readModels: ReadModels;
  readonly logger: Logger;
  readonly batchSize?: number;
}

/**
 * Rebuilds the read models from zero (see `ProjectionRuntime.rebuild`). Stop every runtime folding into
 * `readModels` first.
 *
 * @example
 * ```ts
 * await rebuild({ store, readModels, logger, onProgress: ({ done, total }) => console.log(done, total) });
 * ```
 */
export function rebuild(request: RebuildRequest): Promise<RebuildProgress> {
  const { store, readModels, logger, batchSize, onProgress } = request;
  const runtime = new ProjectionRuntime({ store, readModels, logger });
  return runtime.rebuild({
    ...(onProgress === undefined ? {} : { onProgress }),
    ...(batchSize === undefined ? {} : { batchSize }),
  });
}
