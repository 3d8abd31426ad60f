import { type EventStore, lastPosition } from '@ledger/event-store';
import type { LedgerQueries } from '@ledger/projections';

/**
 * The query node's readiness: ready once its read models have reached the store's last position as it was
 * when the node started, and from then on. A node whose read model is refolding from zero (a new or wiped
 * node) would otherwise answer with empty or stale data; a node that fell behind later stays in its load
 * balancer's pool, because reads that must see a write ask for it with `minPosition`.
 *
 * @example
 * ```ts
 * const ready = await readyOnceCaughtUp(store, queries);
 * await app.register(healthRoutes, { ready });
 * ```
 */
export async function readyOnceCaughtUp(
  store: Pick<EventStore, 'readAll'>,
  queries: Pick<LedgerQueries, 'checkpoint'>,
): Promise<() => boolean> {
  const head = Number((await lastPosition(store))?.commit ?? 0n);
  let caughtUp = false;
  return () => {
    caughtUp ||= queries.checkpoint() >= head;
    return caughtUp;
  };
}
