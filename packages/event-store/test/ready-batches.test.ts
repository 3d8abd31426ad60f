import { InMemoryEventStore, readyBatches } from '@ledger/event-store';
import t from 'tap';

const event = (n: number) => ({ type: 'Counted', data: { n } });

t.test('a backlog comes in full batches, then each live commit as soon as it arrives', async (t) => {
  const store = new InMemoryEventStore();
  for (let i = 0; i < 7; i++) await store.appendToStream(`s-${i}`, [event(i)]);
  const subscription = store.subscribeToAll({ fromPosition: 'start' });
  const sizes: number[] = [];
  const seen: number[] = [];
  for await (const batch of readyBatches(subscription, 3)) {
    sizes.push(batch.length);
    for (const recorded of batch) seen.push((recorded.data as { n: number }).n);
    if (seen.length === 7) {
      // Caught up: a commit of two events made now arrives as one batch of two, not held for a third.
      await store.appendToStream('live', [event(7), event(8)]);
    }
    if (seen.length === 9) break;
  }
  await subscription.unsubscribe();
  t.same(sizes, [3, 3, 1, 2]);
  t.same(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8], 'every event once, in order');
  await store.close();
});

t.test('the event pending when a batch closed opens the next batch', async (t) => {
  async function* trickle() {
    yield 1;
    yield 2;
    // A real wait: the batch of [1, 2] closes while 3 is still coming.
    await new Promise((resolve) => setTimeout(resolve, 20));
    yield 3;
    yield 4;
  }
  const batches: number[][] = [];
  for await (const batch of readyBatches(trickle(), 10)) batches.push(batch);
  t.same(batches, [
    [1, 2],
    [3, 4],
  ]);
});

t.test('an empty source yields nothing; a size below 1 means batches of one', async (t) => {
  async function* none(): AsyncGenerator<number> {}
  const empty: number[][] = [];
  for await (const batch of readyBatches(none(), 5)) empty.push(batch);
  t.same(empty, []);

  async function* three() {
    yield* [1, 2, 3];
  }
  const singles: number[][] = [];
  for await (const batch of readyBatches(three(), 0)) singles.push(batch);
  t.same(singles, [[1], [2], [3]]);
});
