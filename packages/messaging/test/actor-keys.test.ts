import { type EventStore, InMemoryEventStore, type RecordedEvent } from '@ledger/event-store';
import { ActorKeys } from '@ledger/messaging';
import t from 'tap';

const made = (claimId: string, actorId: string) => ({
  type: 'ClaimMade',
  data: { claimId, actor: { id: actorId, name: actorId, aliases: [] } },
});
const denied = (claimId: string) => ({ type: 'ClaimDenied', data: { claimId } });

async function last(store: EventStore, stream: string): Promise<RecordedEvent> {
  let event: RecordedEvent | undefined;
  for await (const e of store.readStream(stream)) event = e;
  return event!;
}

/** Counts stream reads, to see what the cache saves. */
function counting(store: InMemoryEventStore): EventStore & { reads: number } {
  const wrapper = Object.create(store) as InMemoryEventStore & { reads: number };
  wrapper.reads = 0;
  wrapper.readStream = (...args: Parameters<EventStore['readStream']>) => {
    wrapper.reads += 1;
    return store.readStream(...args);
  };
  return wrapper;
}

t.test(
  'a ClaimMade names its actor; its answers find it through the claim’s stream, read once',
  async (t) => {
    const inner = new InMemoryEventStore();
    await inner.appendToStream('claim-1', [made('1', 'zirconium'), denied('1')]);
    await inner.appendToStream('claim-2', [made('2', 'strontium'), denied('2')]);
    const store = counting(inner);
    const keys = new ActorKeys(store, 1);
    t.equal(await keys.of(await last(inner, 'claim-1')), 'zirconium');
    t.equal(await keys.of(await last(inner, 'claim-1')), 'zirconium');
    t.equal(store.reads, 1, 'the second answer of a claim comes from the cache');
    t.equal(await keys.of(await last(inner, 'claim-2')), 'strontium');
    t.equal(await keys.of(await last(inner, 'claim-1')), 'zirconium');
    t.equal(store.reads, 3, 'capacity 1: claim-2 evicted claim-1');
    let first: RecordedEvent | undefined;
    for await (const event of inner.readStream('claim-2', { maxCount: 1 })) first = event;
    t.equal(await keys.of(first!), 'strontium', 'from the ClaimMade itself');
    t.equal(store.reads, 3);
  },
);

t.test('an answer whose stream has no ClaimMade with an actor has no key', async (t) => {
  const store = new InMemoryEventStore();
  await store.appendToStream('claim-x', [denied('x')]);
  await store.appendToStream('claim-y', [
    { type: 'ClaimMade', data: { claimId: 'y', actor: { id: '' } } },
    denied('y'),
  ]);
  const keys = new ActorKeys(store);
  t.equal(await keys.of(await last(store, 'claim-x')), undefined);
  t.equal(await keys.of(await last(store, 'claim-y')), undefined);
  const orphan = { ...(await last(store, 'claim-x')), streamId: 'claim-gone' };
  t.equal(await keys.of(orphan), undefined, 'a stream that does not exist');
});

t.test('a store failure is not swallowed', async (t) => {
  const store = new InMemoryEventStore();
  await store.appendToStream('claim-z', [denied('z')]);
  const event = await last(store, 'claim-z');
  await store.close();
  await t.rejects(new ActorKeys(store).of(event));
});
