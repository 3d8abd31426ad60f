import { LedgerError } from '@ledger/domain';

/** Codes of the errors this package throws on purpose. */
export type ProjectionErrorCode =
  | 'invalid-cursor'
  | 'runtime-running'
  | 'projector-running'
  | 'read-models-closed'
  | 'checkpoint-beyond-store';

/**
 * A typed error of the read side. `invalid-cursor` is a client's mistake (HTTP `400`); `runtime-running`,
 * `projector-running` and `read-models-closed` are a caller's (a rebuild while a runtime of this process runs,
 * a rebuild while a projector of any process holds a fresh lease on read.db, a query after `close()`).
 * `checkpoint-beyond-store` is an operator's: read.db was folded from another log than the store it follows.
 *
 * @example
 * ```ts
 * try { queries.listClaims({ limit: 10, cursor }); } catch (e) {
 *   if (isLedgerError(e) && e.code === 'invalid-cursor') reply.code(400);
 * }
 * ```
 */
export class ProjectionError extends LedgerError {
  override readonly name = 'ProjectionError';
  declare readonly code: ProjectionErrorCode;

  // Only narrows the accepted codes.
  constructor(code: ProjectionErrorCode, message: string, details?: Readonly<Record<string, unknown>>) {
    super(code, message, details);
  }
}
