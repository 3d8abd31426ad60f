import { randomUUID } from 'node:crypto';
import {
  type EventStore,
  lastPosition,
  type Position,
  type RecordedEvent,
  readyBatches,
  type Subscription,
} from '@ledger/event-store';
import type { Logger } from 'pino';
import { actorsProjection } from './actors.projection.js';
import { claimEventsProjection } from './claim-events.projection.js';
import { claimsProjection } from './claims.projection.js';
import { decodeClaimEvent, type ProjectedEvent } from './decode.js';
import { ProjectionError } from './errors.js';
import type { Projection, ReadModelTx } from './projection.js';
import {
  CHECKPOINT_NAME,
  type ReadModels,
  readModelsInternals,
  type StoredCheckpoint,
} from './read-models.js';
import { LEASE_TIMEOUT_MS, recreateTables } from './schema.js';

/** The read-model projections, in the order a batch applies them (each writes only its own tables). */
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
  /** How often an idle runtime refreshes its lease on read.db (default `LEASE_HEARTBEAT_MS`). */
  readonly leaseHeartbeatMs?: number;
}

/** One batch the live runtime committed: how many events it folded and how long its transaction took. */
export interface ProjectedBatch {
  readonly events: number;
  readonly durationMs: number;
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
  /**
   * Rebuild even while a projector (of any process) holds a fresh lease on read.db. Safe for the read models,
   * whose batches only apply on top of the checkpoint they continue from, but readers see them emptied and
   * filled again while it runs.
   */
  readonly force?: boolean;
}

/**
 * A rebuild folds in larger transactions than the live runtime: nobody waits on its fine-grained progress, and
 * each batch writes each touched claim and actor row once, so fewer, larger batches write fewer rows.
 */
export const REBUILD_BATCH_SIZE = 5000;

/** How often a running runtime refreshes its lease on read.db when no batch did. */
export const LEASE_HEARTBEAT_MS = 5000;

const MAX_RETRY_DELAY_MS = 30_000;

const UPSERT_LEASE = `INSERT INTO projector_leases (holder, pid, heartbeat_ms) VALUES (?, ?, ?)
  ON CONFLICT (holder) DO UPDATE SET pid = excluded.pid, heartbeat_ms = excluded.heartbeat_ms`;
const DELETE_LEASE = 'DELETE FROM projector_leases WHERE holder = ?';

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
 * Each batch applies only on top of the checkpoint it continues from, checked inside its transaction: when
 * someone else moved the stored checkpoint (a rebuild, another projector on the same read.db), the batch is
 * rolled back, a warning logged, and the runtime re-subscribes from the stored checkpoint at once. So several
 * runtimes on one read.db each fold a share of the batches and every event still takes effect once. While it
 * runs, the runtime holds a lease row in read.db (refreshed with every batch and every `leaseHeartbeatMs`,
 * deleted on stop) that makes `rebuild` refuse to run beside it.
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
  readonly #leaseHeartbeatMs: number;
  readonly #holder = randomUUID();
  readonly #listeners = new Set<(position: number, batch: ProjectedBatch) => void>();
  #position: number;
  #loop: Promise<void> | undefined;
  #subscription: Subscription | undefined;
  #stopping = false;
  #active = false;
  #wakeRetry: (() => void) | undefined;
  #failures = 0;
  #leased = false;

  constructor(options: ProjectionRuntimeOptions) {
    this.#store = options.store;
    this.#readModels = options.readModels;
    this.#log = options.logger;
    this.#batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
    this.#retryDelayMs = options.retryDelayMs ?? 100;
    this.#leaseHeartbeatMs = options.leaseHeartbeatMs ?? LEASE_HEARTBEAT_MS;
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
   * Calls `listener(position, batch)` after every committed batch (in this process). Returns the function that
   * removes it. `LedgerQueries.waitForPosition` wakes on it; the metrics count batch sizes with it.
   */
  onProgress(listener: (position: number, batch: ProjectedBatch) => void): () => void {
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
    this.#leased = true;
    this.#beat();
    const heartbeat = setInterval(() => this.#beat(), this.#leaseHeartbeatMs);
    heartbeat.unref();
    this.#loop = this.#run().finally(() => {
      clearInterval(heartbeat);
      this.#leased = false;
      this.#release();
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
   * throws `runtime-running`; while a runtime of any process holds a lease on read.db with a heartbeat younger
   * than `LEASE_TIMEOUT_MS`, it throws `projector-running` (unless `force`) and changes nothing. Readers see
   * the rebuild's progress: the checkpoint moves with the rows. If someone else moves the checkpoint meanwhile
   * (a forced rebuild beside a projector), it goes on reading from the stored checkpoint.
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
      const total = Number((await lastPosition(this.#store))?.commit ?? 0n);
      const started = performance.now();
      internals.db
        .transaction(() => {
          if (options.force !== true) this.#refuseBesideLeases();
          recreateTables(internals.db);
        })
        .immediate();
      this.#position = 0;
      let progress: RebuildProgress = { done: 0, total };
      options.onProgress?.(progress);
      const batchSize = Math.max(1, options.batchSize ?? REBUILD_BATCH_SIZE);
      let batch: RecordedEvent[] = [];
      let events = 0;
      const flush = (): boolean => {
        const applied = this.#applyBatch(batch, this.#position);
        if (applied) {
          events += batch.length;
          progress = { done: this.#position, total: Math.max(total, this.#position) };
          options.onProgress?.(progress);
        }
        batch = [];
        return applied;
      };
      // `undefined`: from the start. After a batch found the checkpoint moved, from the stored one.
      let from: StoredCheckpoint | undefined;
      for (;;) {
        const after = from?.position ?? 0;
        const source = this.#store.readAll(
          from === undefined
            ? {}
            : { fromPosition: { commit: BigInt(from.position), prepare: from.prepare } },
        );
        let moved = false;
        for await (const event of source) {
          if (Number(event.position.commit) <= after) continue; // readAll is inclusive
          batch.push(event);
          if (batch.length >= batchSize && !flush()) {
            moved = true;
            break;
          }
        }
        if (!moved && (batch.length === 0 || flush())) break;
        from = this.#readModels.checkpoint();
        this.#position = from?.position ?? 0;
      }
      if (progress.done !== this.#position) {
        // Others folded the last events (a forced rebuild beside a projector): report where it ended.
        progress = { done: this.#position, total: Math.max(total, this.#position) };
        options.onProgress?.(progress);
      }
      const seconds = (performance.now() - started) / 1000;
      this.#log.info({ events, position: this.#position, seconds }, 'read models rebuilt');
      return progress;
    } finally {
      internals.owner = undefined;
    }
  }

  /** Throws `projector-running` when a runtime (of any process) holds a fresh lease on read.db. */
  #refuseBesideLeases(): void {
    const now = Date.now();
    const fresh = this.#readModels.leases().filter((lease) => now - lease.heartbeatMs < LEASE_TIMEOUT_MS);
    if (fresh.length === 0) return;
    const who = fresh.map((lease) => `pid ${lease.pid}, seen ${Math.max(0, now - lease.heartbeatMs)} ms ago`);
    throw new ProjectionError(
      'projector-running',
      `a projector is folding into this read.db (${who.join('; ')}): stop the ledger or projector using this data dir first`,
      { leases: fresh },
    );
  }

  /** Writes this runtime's lease with a fresh heartbeat; a failure is logged (the next beat retries). */
  #beat(): void {
    try {
      readModelsInternals(this.#readModels)
        .statement(UPSERT_LEASE)
        .run(this.#holder, process.pid, Date.now());
    } catch (error) {
      this.#log.warn({ err: error }, 'projector lease not refreshed');
    }
  }

  #release(): void {
    try {
      readModelsInternals(this.#readModels).statement(DELETE_LEASE).run(this.#holder);
    } catch (error) {
      this.#log.warn({ err: error }, 'projector lease not released');
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        // 'moved': another writer moved the checkpoint; follow it at once (not a failure, no delay).
        if ((await this.#consume()) === 'ended') return;
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

  /**
   * Follows one subscription until it ends (stop, store closed: `'ended'`), a batch finds the checkpoint moved
   * by someone else (`'moved'`), or it fails (throws).
   */
  async #consume(): Promise<'ended' | 'moved'> {
    const checkpoint = this.#readModels.checkpoint();
    this.#position = checkpoint?.position ?? 0;
    const fromPosition: Position | 'start' =
      checkpoint === undefined
        ? 'start'
        : { commit: BigInt(checkpoint.position), prepare: checkpoint.prepare };
    const subscription = this.#store.subscribeToAll({ fromPosition });
    this.#subscription = subscription;
    this.#log.info({ from: checkpoint?.position ?? 0 }, 'projection subscribed');
    try {
      for await (const batch of readyBatches(subscription, this.#batchSize)) {
        if (this.#stopping) return 'ended';
        if (!this.#applyBatch(batch, this.#position)) return 'moved';
      }
      return 'ended';
    } finally {
      this.#subscription = undefined;
      await subscription.unsubscribe();
    }
  }

  /**
   * Folds a batch that continues from position `from` and its checkpoint in one transaction, then tells the
   * waiters. When the stored checkpoint is not `from` (someone else moved it), writes nothing, logs a warning,
   * sets `position()` to the stored checkpoint and returns `false`.
   */
  #applyBatch(batch: readonly RecordedEvent[], from: number): boolean {
    const last = batch.at(-1)!;
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
    const started = performance.now();
    const stored = internals.db
      .transaction(() => {
        // Inside the IMMEDIATE transaction: no other writer can move the checkpoint until this one commits.
        const current = this.#readModels.checkpoint()?.position ?? 0;
        if (current !== from) return current;
        for (const projection of projections) {
          const handled = decoded.filter((projected) => projection.handles.includes(projected.event.type));
          if (handled.length > 0) projection.apply(handled, tx);
        }
        internals
          .statement(UPSERT_CHECKPOINT)
          .run(CHECKPOINT_NAME, Number(last.position.commit), last.position.prepare);
        if (this.#leased) internals.statement(UPSERT_LEASE).run(this.#holder, process.pid, Date.now());
        return from;
      })
      .immediate();
    if (stored !== from) {
      this.#log.warn(
        {
          expected: from,
          stored,
          first: Number(batch[0]!.position.commit),
          last: Number(last.position.commit),
        },
        'the checkpoint moved under this batch (a rebuild, or another projector on this read.db); continuing from the stored one',
      );
      this.#position = stored;
      return false;
    }
    this.#position = Number(last.position.commit);
    this.#failures = 0;
    const projected: ProjectedBatch = { events: batch.length, durationMs: performance.now() - started };
    for (const listener of this.#listeners) {
      try {
        listener(this.#position, projected);
      } catch (error) {
        this.#log.error({ err: error }, 'progress listener failed');
      }
    }
    return true;
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
 * `readModels` first: while one (of any process) holds a fresh lease on read.db, it throws `ProjectionError`
 * `projector-running` and changes nothing, unless `force: true`.
 *
 * @example
 * ```ts
 * await rebuild({ store, readModels, logger, onProgress: ({ done, total }) => console.log(done, total) });
 * ```
 */
export function rebuild(request: RebuildRequest): Promise<RebuildProgress> {
  const { store, readModels, logger, batchSize, onProgress, force } = request;
  const runtime = new ProjectionRuntime({ store, readModels, logger });
  return runtime.rebuild({
    ...(onProgress === undefined ? {} : { onProgress }),
    ...(batchSize === undefined ? {} : { batchSize }),
    ...(force === undefined ? {} : { force }),
  });
}
