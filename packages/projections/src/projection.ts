import type { ClaimEventType } from '@ledger/domain';
import type Database from 'better-sqlite3';
import type { ProjectedEvent } from './decode.js';

/**
 * What a projection writes through: the read.db connection inside the batch's transaction. Everything it
 * writes commits with the batch's checkpoint, or not at all.
 */
export interface ReadModelTx {
  /** A prepared statement on the transaction's connection, cached for the connection's lifetime. */
  statement(sql: string): Database.Statement;
  /** Reports an event the projection cannot fold (it is logged; the batch goes on). */
  skipped(event: ProjectedEvent, reason: string): void;
}

/**
 * A read-model projection: the event types it folds and how it folds a batch of them. `apply` receives the
 * batch's events of those types, in position order; the row computations are pure functions beside it.
 */
export interface Projection {
  readonly name: string;
  readonly handles: readonly ClaimEventType[];
  apply(events: readonly ProjectedEvent[], tx: ReadModelTx): void;
  /**
   * Optional: a fold over many `apply` calls in one transaction that may hold rows back until `flush()`
   * (a rebuild uses it to write each row once, not once per chunk). Without it, `apply` is called per chunk.
   */
  session?(tx: ReadModelTx): ProjectionSession;
}

/** A projection's fold over one transaction: `apply` chunks in position order, `flush()` before committing. */
export interface ProjectionSession {
  apply(events: readonly ProjectedEvent[]): void;
  /** Rows held back in memory (e.g. actors whose rows are not written yet): the caller flushes past a bound. */
  readonly pending: number;
  flush(): void;
}
