import { InMemoryEventStore, lastPosition } from '@ledger/event-store';
import t from 'tap';

t.test("lastPosition: the store's last event in $all order, undefined when there is none", async (t) => {
  const store = new InMemoryEventStore();
  t.teardown(() => store.close());
  t.equal(await lastPosition(store), undefined, 'an empty store');
  await store.appendToStream('a', [{ type: 'A', data: {} }]);
  const { position } = await store.appendToStream('b', [
    { type: 'B', data: {} },
    { type: 'B', data: {} },
  ]);
  t.same(await lastPosition(store), position, 'the position of the last event appended');
});
