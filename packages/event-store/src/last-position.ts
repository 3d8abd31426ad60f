import type { EventStore, Position } from './event-store.port.js';

/**
 * The position of the store's last event in `$all` order, or `undefined` when it has none: one backwards read
 * of one event, on any adapter.
 *
 * @example
 * ```ts
 * const head = (await lastPosition(store))?.commit ?? 0n;
 * ```
 */
export async function lastPosition(store: Pick<EventStore, 'readAll'>): Promise<Position | undefined> {
  for await (const event of store.readAll({ direction: 'backwards', maxCount: 1 })) return event.position;
  return undefined;
}
