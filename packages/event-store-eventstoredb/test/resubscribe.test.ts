/**
 * Resubscription after a dropped connection, against a scripted fake of the client's subscription object:
 * each `subscribeToAll` call follows the next step of a script (deliver n events after the requested start,
 * then fail with an error or stay open), and records where it was asked to start.
 */
import { randomUUID } from 'node:crypto';
import {
  AccessDeniedError,
  type AllStreamSubscription,
  type Position,
  type ReadPosition,
  UnavailableError,
} from '@eventstore/db-client';
import {
  EventStoreDbEventStore,
  isRetryableSubscriptionError,
  type ResubscribeOptions,
} from '@ledger/event-store-eventstoredb';
import t, { type Test } from 'tap';
import { SimulatedServer } from './fixtures/simulated-esdb-client.js';

type Step = { deliver: number; end: Error | 'stay-open' };

const after = (from: ReadPosition | undefined, position: Position) =>
  from === undefined || from === 'start' || (from !== 'end' && position.commit > from.commit);

async function scripted(
  t: Test,
  count: number,
  script: Step[],
  retry: ResubscribeOptions = { initialDelayMs: 1, maxDelayMs: 4 },
) {
  const server = new SimulatedServer();
  const base = server.client();
  for (let i = 0; i < count; i += 1) {
    await base.appendToStream(`claim-${i}`, [
      {
        id: randomUUID(),
        contentType: 'application/json',
        type: 'ClaimMade',
        data: { i },
        metadata: undefined,
      },
    ]);
  }
  const starts: Array<ReadPosition | undefined> = [];
  let unsubscribed = 0;
  const client = {
    ...base,
    appendToStream: base.appendToStream.bind(base),
    readStream: base.readStream.bind(base),
    readAll: base.readAll.bind(base),
    dispose: base.dispose.bind(base),
    subscribeToAll: (options: { fromPosition?: ReadPosition } = {}) => {
      // `deliver` counts the server's own $stats event, which comes first from the start of $all.
      const step = script[starts.length] ?? { deliver: Number.POSITIVE_INFINITY, end: 'stay-open' };
      starts.push(options.fromPosition);
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const events = server.log
        .filter((event) => after(options.fromPosition, event.position))
        .slice(0, step.deliver);
      async function* run() {
        for (const event of events) yield { event };
        if (step.end === 'stay-open') await released;
        else throw step.end;
      }
      return Object.assign(run(), {
        unsubscribe: async () => {
          unsubscribed += 1;
          release();
        },
      }) as unknown as AllStreamSubscription;
    },
  } as typeof base;
  const store = new EventStoreDbEventStore({ client, resubscribe: retry });
  t.teardown(() => store.close());
  const positions = server.log
    .filter((event) => !event.streamId.startsWith('$'))
    .map((event) => event.position);
  return { store, starts, positions, unsubscribed: () => unsubscribed, server };
}

async function take(subscription: AsyncIterable<{ data: unknown }>, n: number) {
  const seen: unknown[] = [];
  if (n === 0) return seen;
  for await (const event of subscription) {
    seen.push((event.data as { i: number }).i);
    if (seen.length >= n) break;
  }
  return seen;
}

const drop = () => new UnavailableError(undefined);

t.test(
  'a subscription dropped after k events resumes after event k: no gap, no duplicate, across drops',
  async (t) => {
    // The first call also delivers the server's own $stats event, which is not returned but still moves the resume point.
    const { store, starts, positions } = await scripted(t, 10, [
      { deliver: 4, end: drop() },
      { deliver: 2, end: drop() },
      { deliver: 0, end: drop() },
      { deliver: 3, end: drop() },
    ]);
    const subscription = store.subscribeToAll();
    t.same(await take(subscription, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await subscription.unsubscribe();
    t.equal(starts.length, 5, 'one call per drop, plus the first');
    t.equal(starts[0], 'start', 'the first call starts where asked');
    t.same(starts[1], positions[2], 'resumes after the last event delivered ($stats + events 0..2)');
    t.same(starts[2], positions[4], 'resumes after event 4');
    t.same(starts[3], positions[4], 'nothing delivered: resumes from the same position again');
    t.same(starts[4], positions[7]);
  },
);

t.test('resumes from the original fromPosition when nothing was delivered', async (t) => {
  const { store, starts, positions } = await scripted(t, 5, [
    { deliver: 0, end: drop() },
    { deliver: 0, end: drop() },
  ]);
  const subscription = store.subscribeToAll({ fromPosition: positions[1]! });
  t.same(await take(subscription, 3), [2, 3, 4]);
  await subscription.unsubscribe();
  t.same(starts, [positions[1], positions[1], positions[1]]);
});

t.test('an error retrying cannot fix is thrown at once', async (t) => {
  const denied = new AccessDeniedError(undefined);
  const { store, starts } = await scripted(t, 3, [{ deliver: 3, end: denied }]);
  const seen: unknown[] = [];
  await t.rejects(async () => {
    for await (const event of store.subscribeToAll()) seen.push((event.data as { i: number }).i);
  }, denied);
  t.same(seen, [0, 1], 'what was delivered before the error is kept');
  t.equal(starts.length, 1, 'no resubscription');
});

t.test('gives up after maxAttempts consecutive failures with no event in between', async (t) => {
  const last = new UnavailableError(undefined, 'last');
  const { store, starts } = await scripted(
    t,
    3,
    [
      { deliver: 2, end: drop() },
      { deliver: 1, end: drop() },
      { deliver: 1, end: drop() },
      { deliver: 0, end: drop() },
      { deliver: 0, end: last },
    ],
    { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 },
  );
  const seen: unknown[] = [];
  await t.rejects(async () => {
    for await (const event of store.subscribeToAll()) seen.push((event.data as { i: number }).i);
  }, last);
  t.same(seen, [0, 1, 2]);
  t.equal(starts.length, 5, 'the failure counter restarted at every event delivered');
});

t.test('unsubscribe during the backoff ends the iteration promptly', async (t) => {
  const { store, starts } = await scripted(t, 2, [{ deliver: 3, end: drop() }], {
    initialDelayMs: 60_000,
    maxDelayMs: 60_000,
  });
  const subscription = store.subscribeToAll();
  const iterator = subscription[Symbol.asyncIterator]();
  t.equal((await iterator.next()).done, false);
  t.equal((await iterator.next()).done, false);
  const pending = iterator.next();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const started = Date.now();
  await subscription.unsubscribe();
  t.same(await pending, { done: true, value: undefined }, 'the iteration ends');
  t.ok(Date.now() - started < 1000, 'without waiting out the 30–60 s backoff');
  t.equal(starts.length, 1, 'and without resubscribing');
});

t.test('unsubscribe while live stops the client subscription', async (t) => {
  const { store, unsubscribed } = await scripted(t, 1, [{ deliver: 5, end: 'stay-open' }]);
  const subscription = store.subscribeToAll();
  t.same(await take(subscription, 1), [0]);
  await subscription.unsubscribe();
  t.equal(unsubscribed(), 1);
});

t.test('which client errors are retried', async (t) => {
  t.equal(isRetryableSubscriptionError(new UnavailableError(undefined)), true);
  t.equal(isRetryableSubscriptionError(new Error('socket hang up')), true);
  t.equal(isRetryableSubscriptionError(new AccessDeniedError(undefined)), false);
  t.equal(isRetryableSubscriptionError({ type: 'not-found' }), false);
  t.equal(isRetryableSubscriptionError(undefined), true);
});
