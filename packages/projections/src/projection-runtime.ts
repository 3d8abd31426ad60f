import { randomUUID } from 'node:crypto';
import {
  type EventStore,
  lastPosition,
  type Position,
  type RecordedEvent,
  readyBatches,
  type Subscription,
} from '@ledger/event-store';
import type Database from 'better-sqlite3';
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
  /** Events per chunk during the rebuild (default `REBUILD_BATCH_SIZE`). */
  readonly batchSize?: number;
  /**
   * Rebuild even while a projector (of any process) holds a fresh lease on read.db. Safe for the read models,
   * whose batches only apply on top of the checkpoint they continue from, but readers see them emptied and
   * filled again while it runs.
   */
  readonly force?: boolean;
  /**
   * Without `force`: how many actors' rows a rebuild may hold back in memory before writing them (default
   * `REBUILD_PENDING_ACTORS`). Each actor is written once per this many, instead of once per batch.
   */
  readonly pendingActors?: number;
}

/**
 * Without `force`, a rebuild holds the rows of at most this many changed actors in memory (their folds as JSON,
 * about 2 KiB each for a typical actor, more for one with many distinct parties) before writing them: a ledger
 * of up to this many actors writes each actor once. The bench's 1M events over 20 000 actors peaked at 374 MiB.
 */
export const REBUILD_PENDING_ACTORS = 50_000;

/**
 * The events a rebuild decodes and applies at a time (and, with `force`, commits). Each chunk writes each
 * touched claim once; actors are held back across chunks (`REBUILD_PENDING_ACTORS`), so chunks need not be
 * large, and smaller ones keep fewer decoded events alive at once (1 000: peak RSS 363 MiB at 1M events,
 * against 400 MiB with 5 000, at the same speed).
 */
export const REBUILD_BATCH_SIZE = 1000;

/**
 * The events per transaction of a rebuild with `force`: each batch writes each touched claim and actor row
 * once, so fewer, larger batches write fewer rows.
 */
export const FORCED_REBUILD_BATCH_SIZE = 5000;

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
   * than `LEASE_TIMEOUT_MS`, it throws `projector-running` (unless `force`) and changes nothing.
   *
   * Without `force` the whole rebuild is ONE read.db transaction: readers keep the old read models until it
   * commits and then see the new ones at once; a crash or an error leaves the old ones. It holds read.db's write
   * lock throughout: readers may open the file meanwhile, but a projector started meanwhile (an operator's
   * mistake: `ledger rebuild` refuses beside running ones) blocks on the lock in each attempt to write until the
   * commit, then folds on from the rebuilt checkpoint. With `force` it commits batch by batch beside the
   * projectors: readers see the rebuild's progress (the checkpoint moves with the rows), and if someone else
   * moves the checkpoint meanwhile it goes on reading from the stored checkpoint.
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
      const progress =
        options.force === true
          ? await this.#rebuildBatchByBatch(options, total)
          : await this.#rebuildAtOnce(options, total);
      const seconds = (performance.now() - started) / 1000;
      this.#log.info({ events: progress.events, position: this.#position, seconds }, 'read models rebuilt');
      return { done: progress.done, total: progress.total };
    } finally {
      internals.owner = undefined;
    }
  }

  /**
   * The rebuild without `force`: ONE read.db transaction that refuses beside live leases, recreates the
   * tables and folds the whole store, so readers keep the old read models until it commits and a crash or an
   * error leaves them as they were. Inside it, the projections fold chunks of `batchSize` events through their
   * sessions, so each actor's rows are written once (per `pendingActors` actors) instead of once per batch.
   * A projector that starts meanwhile blocks on read.db's lock in each attempt to write (its thread waits
   * `busy_timeout` per attempt), then folds on from the rebuilt checkpoint.
   */
  async #rebuildAtOnce(
    options: RebuildOptions,
    total: number,
  ): Promise<RebuildProgress & { readonly events: number }> {
    const internals = readModelsInternals(this.#readModels);
    const db = internals.db;
    const batchSize = Math.max(1, options.batchSize ?? REBUILD_BATCH_SIZE);
    const pendingBound = Math.max(1, options.pendingActors ?? REBUILD_PENDING_ACTORS);
    db.exec('BEGIN IMMEDIATE');
    try {
      this.#refuseBesideLeases();
      recreateTables(db);
      let progress: RebuildProgress = { done: 0, total };
      options.onProgress?.(progress);
      const tx = this.#readModelTx();
      const sessions = projections.map((projection) => ({
        projection,
        session: projection.session?.(tx) ?? {
          apply: (events: readonly ProjectedEvent[]) => projection.apply(events, tx),
          pending: 0,
          flush: () => {},
        },
      }));
      let events = 0;
      let last: RecordedEvent | undefined;
      let batch: RecordedEvent[] = [];
      const fold = (): void => {
        const decoded = this.#decode(batch);
        for (const { projection, session } of sessions) {
          const handled = handledBy(projection, decoded);
          if (handled.length > 0) session.apply(handled);
          if (session.pending >= pendingBound) session.flush();
        }
        events += batch.length;
        last = batch.at(-1);
        batch = [];
        const done = Number(last!.position.commit);
        progress = { done, total: Math.max(total, done) };
        options.onProgress?.(progress);
      };
      for await (const event of this.#store.readAll({})) {
        batch.push(event);
        if (batch.length >= batchSize) fold();
      }
      if (batch.length > 0) fold();
      for (const { session } of sessions) session.flush();
      if (last !== undefined) {
        internals
          .statement(UPSERT_CHECKPOINT)
          .run(CHECKPOINT_NAME, Number(last.position.commit), last.position.prepare);
      }
      db.exec('COMMIT');
      this.#position = progress.done;
      // The one transaction grew the WAL to about the size of the read models; this copies it into read.db and
      // truncates it. Best effort and without waiting: a reader still on the WAL keeps it until a later
      // checkpoint (SQLite reports that as busy, it does not throw).
      truncateWal(db, this.#log);
      return { ...progress, events };
    } finally {
      if (db.inTransaction) db.exec('ROLLBACK');
    }
  }

  /**
   * The rebuild with `force`, beside projectors that may fold into the same read.db: one transaction per
   * batch, each applied only on top of the checkpoint it continues from (see the class comment).
   */
  async #rebuildBatchByBatch(
    options: RebuildOptions,
    total: number,
  ): Promise<RebuildProgress & { readonly events: number }> {
    const internals = readModelsInternals(this.#readModels);
    internals.db
      .transaction(() => {
        recreateTables(internals.db);
      })
      .immediate();
    this.#position = 0;
    let progress: RebuildProgress = { done: 0, total };
    options.onProgress?.(progress);
    const batchSize = Math.max(1, options.batchSize ?? FORCED_REBUILD_BATCH_SIZE);
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
        from === undefined ? {} : { fromPosition: { commit: BigInt(from.position), prepare: from.prepare } },
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
    return { ...progress, events };
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
   * A checkpoint beyond the store's last event means read.db was folded from another log (another ledger's, or
   * a newer one than a store restored from an older copy): following it would skip every event until
   * positions pass it, while the read models answer from the other log. Refused, with the way out in the
   * message; the runtime logs it and tries again with its growing delay, so a rebuild (or the right store)
   * lets it go on. The relay refuses the same for relay.db.
   */
  async #assertCheckpointInStore(position: number): Promise<void> {
    const head = await lastPosition(this.#store);
    if (head !== undefined && BigInt(position) <= head.commit) return;
    throw new ProjectionError(
      'checkpoint-beyond-store',
      `the read models' checkpoint ${position} is beyond the event store's last position ${head?.commit ?? 0n}: ` +
        'read.db was folded from another log; run `ledger rebuild` (or delete read.db) to fold this store',
      { checkpoint: position, storeHead: Number(head?.commit ?? 0n) },
    );
  }

  /**
   * Follows one subscription until it ends (stop, store closed: `'ended'`), a batch finds the checkpoint moved
   * by someone else (`'moved'`), or it fails (throws).
   */
  async #consume(): Promise<'ended' | 'moved'> {
    const checkpoint = this.#readModels.checkpoint();
    this.#position = checkpoint?.position ?? 0;
    if (checkpoint !== undefined) await this.#assertCheckpointInStore(checkpoint.position);
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
    const decoded = this.#decode(batch);
    const tx = this.#readModelTx();
    const started = performance.now();
    const stored = internals.db
      .transaction(() => {
        // Inside the IMMEDIATE transaction: no other writer can move the checkpoint until this one commits.
        const current = this.#readModels.checkpoint()?.position ?? 0;
        if (current !== from) return current;
        for (const projection of projections) {
          const handled = handledBy(projection, decoded);
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

  /** The claim events of a batch, decoded; what is not projected is logged (see `decodeClaimEvent`). */
  #decode(batch: readonly RecordedEvent[]): ProjectedEvent[] {
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
    return decoded;
  }

  /** What the projections write through: read.db's statements, and a warning for each event left out. */
  #readModelTx(): ReadModelTx {
    return {
      statement: readModelsInternals(this.#readModels).statement,
      skipped: (projected, reason) => {
        this.#log.warn(
          { position: projected.position, eventId: projected.eventId, reason },
          'claim event not projected',
        );
      },
    };
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
  const { store, readModels, logger, batchSize, onProgress, force, pendingActors } = request;
  const runtime = new ProjectionRuntime({ store, readModels, logger });
  return runtime.rebuild({
    ...(onProgress === undefined ? {} : { onProgress }),
    ...(batchSize === undefined ? {} : { batchSize }),
    ...(force === undefined ? {} : { force }),
    ...(pendingActors === undefined ? {} : { pendingActors }),
  });
}

/** The events of `decoded` that `projection` folds, in position order. */
function handledBy(projection: Projection, decoded: readonly ProjectedEvent[]): ProjectedEvent[] {
  return decoded.filter((projected) => projection.handles.includes(projected.event.type));
}

/**
 * `wal_checkpoint(TRUNCATE)` without waiting on readers; says so when a reader (or a projector's checkpointer
 * thread, during a forced rebuild) kept the WAL.
 */
function truncateWal(db: Database.Database, log: Logger): void {
  const busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
  try {
    db.pragma('busy_timeout = 0');
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number }[];
    if (result !== undefined && result.busy !== 0)
      log.info(
        { walFrames: result.log },
        'read.db WAL kept by a reader or another checkpoint; a later checkpoint truncates it',
      );
  } catch (error) {
    log.warn({ err: error }, 'read.db WAL not truncated after the rebuild');
  } finally {
    db.pragma(`busy_timeout = ${busyTimeout}`);
  }
}
