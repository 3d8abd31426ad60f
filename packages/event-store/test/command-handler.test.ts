import {
  type Decider,
  type EventData,
  type EventStore,
  handleCommand,
  InMemoryEventStore,
  type RecordedEvent,
} from '@ledger/event-store';
import t from 'tap';

type CounterEvent = { type: 'Added'; amount: number };
type CounterCommand = { type: 'Add'; amount: number; limit: number } | { type: 'Noop' };

class LimitExceeded extends Error {
  readonly code = 'limit-exceeded';
}

const counter: Decider<CounterCommand, CounterEvent, number> = {
  initialState: () => 0,
  decide(command, total) {
    if (command.type === 'Noop') return [];
    if (total + command.amount > command.limit) throw new LimitExceeded(`${total} + ${command.amount}`);
    return [{ type: 'Added', amount: command.amount }];
  },
  evolve: (total, event) => total + event.amount,
};

const options = {
  fromRecorded: (event: RecordedEvent) => event.data as CounterEvent,
  toEventData: (event: CounterEvent): EventData => ({ type: event.type, data: event }),
};

/** A store that lets a rival writer append right after each of the first `races` stream reads. */
function racingStore(inner: EventStore, races: number): EventStore & { reads: number } {
  const wrapper = {
    reads: 0,
    appendToStream: inner.appendToStream.bind(inner),
    async *readStream(...args: Parameters<EventStore['readStream']>) {
      try {
        yield* inner.readStream(...args);
      } finally {
        // Also after a read that found no stream: the rival creates it.
        wrapper.reads += 1;
        if (wrapper.reads <= races) {
          await inner.appendToStream(args[0], [{ type: 'Added', data: { type: 'Added', amount: 1 } }]);
        }
      }
    },
    readAll: inner.readAll.bind(inner),
    subscribeToAll: inner.subscribeToAll.bind(inner),
    close: inner.close.bind(inner),
  };
  return wrapper;
}

t.test('decides against the folded stream and appends with its revision', async (t) => {
  const store = new InMemoryEventStore();
  const first = await handleCommand(
    store,
    'counter',
    counter,
    { type: 'Add', amount: 2, limit: 10 },
    options,
  );
  t.equal(first.previousRevision, 'no_stream');
  t.equal(first.state, 2);
  const second = await handleCommand(
    store,
    'counter',
    counter,
    { type: 'Add', amount: 3, limit: 10 },
    options,
  );
  t.equal(second.previousRevision, 0n);
  t.equal(second.state, 5, 'the new state folds the new events');
  t.equal(second.appended?.nextExpectedRevision, 1n);
});

t.test('retries from a fresh read when a concurrent writer wins', async (t) => {
  const store = racingStore(new InMemoryEventStore(), 2);
  const result = await handleCommand(
    store,
    'counter',
    counter,
    { type: 'Add', amount: 5, limit: 10 },
    options,
  );
  t.equal(store.reads, 3, 'read three times: two lost races, one win');
  t.equal(result.state, 7, 'decided against the rivals’ events');
  t.equal(result.appended?.nextExpectedRevision, 2n);
});

t.test('the retry decides again: a rule broken by the rival’s event is reported', async (t) => {
  const store = racingStore(new InMemoryEventStore(), 1);
  await t.rejects(handleCommand(store, 'counter', counter, { type: 'Add', amount: 10, limit: 10 }, options), {
    code: 'limit-exceeded',
  });
});

t.test('gives up after maxRetries conflicts with the conflict error', async (t) => {
  const store = racingStore(new InMemoryEventStore(), 100);
  await t.rejects(
    handleCommand(
      store,
      'counter',
      counter,
      { type: 'Add', amount: 1, limit: 1000 },
      { ...options, maxRetries: 2 },
    ),
    { code: 'wrong-expected-version' },
  );
  t.equal(store.reads, 3, 'one try and two retries');
});

t.test('a minted stream name skips the read; a name already taken falls back to reading it', async (t) => {
  const fresh = racingStore(new InMemoryEventStore(), 0);
  const made = await handleCommand(
    fresh,
    'counter-minted',
    counter,
    { type: 'Add', amount: 2, limit: 10 },
    { ...options, newStream: true },
  );
  t.equal(fresh.reads, 0, 'nothing read for a stream nobody has written');
  t.equal(made.previousRevision, 'no_stream');
  t.equal(made.appended?.nextExpectedRevision, 0n);

  const taken = racingStore(new InMemoryEventStore(), 0);
  await taken.appendToStream('counter-taken', [{ type: 'Added', data: { type: 'Added', amount: 9 } }]);
  const retried = await handleCommand(
    taken,
    'counter-taken',
    counter,
    { type: 'Add', amount: 1, limit: 10 },
    { ...options, newStream: true },
  );
  t.equal(taken.reads, 1, 'the no_stream append failed, the retry read the stream');
  t.equal(retried.state, 10, 'and decided against what was there');
  await t.rejects(
    handleCommand(
      taken,
      'counter-taken',
      counter,
      { type: 'Add', amount: 1, limit: 10 },
      { ...options, newStream: true },
    ),
    { code: 'limit-exceeded' },
    'a rule broken by the stored history is still reported',
  );
});

t.test('appends nothing when the decider decides nothing', async (t) => {
  const store = new InMemoryEventStore();
  const result = await handleCommand(store, 'counter', counter, { type: 'Noop' }, options);
  t.equal(result.appended, undefined);
  t.same(result.events, []);
});

t.test('store failures other than conflicts pass through untouched', async (t) => {
  const store = new InMemoryEventStore();
  await store.close();
  await t.rejects(handleCommand(store, 'counter', counter, { type: 'Noop' }, options), {
    code: 'event-store-closed',
  });
});

t.test('concurrent commands on one stream all succeed, in arrival order', async (t) => {
  const store = new InMemoryEventStore();
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      handleCommand(store, 'counter', counter, { type: 'Add', amount: i + 1, limit: 1000 }, options),
    ),
  );
  t.same(
    results.map((result) => result.appended?.nextExpectedRevision),
    Array.from({ length: 20 }, (_, i) => BigInt(i)),
    'each command appended at the next revision, none conflicted',
  );
  t.equal(results[19]?.state, 210);
});

t.test('a failing command does not block the ones queued behind it', async (t) => {
  const store = new InMemoryEventStore();
  const [tooBig, fine] = await Promise.allSettled([
    handleCommand(store, 'counter', counter, { type: 'Add', amount: 50, limit: 10 }, options),
    handleCommand(store, 'counter', counter, { type: 'Add', amount: 5, limit: 10 }, options),
  ]);
  t.equal(tooBig.status, 'rejected');
  t.equal(fine.status, 'fulfilled');
});
