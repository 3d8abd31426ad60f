const TICK = Symbol('tick');

/**
 * Groups a subscription's events into batches of at most `maxSize`, never waiting to fill one: a batch closes
 * as soon as the next event is not immediately available. A consumer that catches up from far behind gets full
 * batches; a live consumer gets each commit's events as soon as they arrive.
 *
 * Events that are already there arrive in microtasks; the `setImmediate` tick fires only once the source has
 * to wait for new commits, so a batch never holds an event back for a timer. A `next()` still pending when a
 * batch closes opens the following one, so no event is skipped or read twice. Ending the loop early (break,
 * return, throw) leaves the source to its owner, which unsubscribes it.
 *
 * @example
 * ```ts
 * for await (const batch of readyBatches(store.subscribeToAll({ fromPosition }), 500)) await publish(batch);
 * ```
 */
export async function* readyBatches<T>(source: AsyncIterable<T>, maxSize: number): AsyncGenerator<T[], void> {
  const limit = Math.max(1, Math.floor(maxSize));
  const events = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | undefined;
  for (;;) {
    const first = await (pending ?? events.next());
    pending = undefined;
    if (first.done === true) return;
    const batch = [first.value];
    const tick = new Promise<typeof TICK>((resolve) => setImmediate(resolve, TICK));
    let ended = false;
    while (batch.length < limit) {
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
    yield batch;
    if (ended) return;
  }
}
