import { HttpProblem } from '@ledger/http';
import type { LedgerQueries } from '@ledger/projections';

/**
 * `minPosition` (DESIGN §6): resolves once the read models have folded `minPosition` (at once without one),
 * or throws `503 not-caught-up` with `Retry-After` after `waitMs`, so that a client reads its own writes.
 *
 * @example
 * ```ts
 * await caughtUp(queries, request.query.minPosition, config.consistencyWaitMs);
 * ```
 */
export async function caughtUp(
  queries: LedgerQueries,
  minPosition: number | undefined,
  waitMs: number,
): Promise<void> {
  if (minPosition === undefined) return;
  if (await queries.waitForPosition(minPosition, waitMs)) return;
  throw new HttpProblem(
    503,
    'not-caught-up',
    'Read models not caught up',
    `the read models have folded position ${queries.checkpoint()}, not yet ${minPosition}; retry shortly`,
    { headers: { 'retry-after': '1' } },
  );
}
