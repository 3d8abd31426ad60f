/**
 * The event-store contract: every adapter of the `EventStore` port runs this suite by passing a factory.
 * It pins down the behaviour the rest of the ledger relies on, so an adapter that passes it can replace
 * another one without the services noticing.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { EventData, EventStore, ExpectedRevision, Position, RecordedEvent } from '@ledger/event-store';
import type { Test } from 'tap';

export interface StoreUnderTest {
  readonly store: EventStore;
  /** A second, independent handle on the same log, as another process would hold: no shared memory. */
  readonly openAnother?: () => Promise<EventStore>;
  /** Closes `store` and opens the same log again. */
  readonly reopen?: () => Promise<EventStore>;
  /**
   * Starts a child process that appends to this log in a loop (several concurrent appenders, three events
   * per append) and prints one line per acknowledged append: `ack {"streamId","ids","nextExpectedRevision","position"}`.
   */
  readonly spawnAppender?: () => ChildProcess;
  readonly dispose: () => Promise<void>;
}

/**
 * What an adapter's backing store can promise beyond the port's core. Each `false` is a documented deviation
 * of that adapter; the suite then skips exactly the checks that need it, with a printed reason.
 */
export interface ContractCapabilities {
  /**
   * The store refuses an event id already stored in another stream or by another append (`duplicate-event-id`).
   * True for SQLite and in-memory (one id index over the log). EventStoreDB checks ids per stream and only
   * against its idempotency window, so it cannot; default true.
   */
  readonly eventIdsUniqueAcrossStreams?: boolean;
}

export interface ContractTarget {
  readonly name: string;
  /**
   * The adapter seals events into a hash chain by adding `metadata.integrity = { hash, prev }` (the SQLite
   * store's default): metadata then reads back as written plus that key, and absent metadata as only that key.
   */
  readonly sealsMetadata?: boolean;
  /** Opens a new, empty store. */
  readonly open: () => Promise<StoreUnderTest>;
  readonly capabilities?: ContractCapabilities;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

function event(type: string, data: unknown = {}, metadata?: unknown, id?: string): EventData {
  return { id: id ?? randomUUID(), type, data, ...(metadata === undefined ? {} : { metadata }) };
}

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

async function rejectsWithCode(
  t: Test,
  promise: Promise<unknown>,
  code: string,
  message: string,
): Promise<unknown> {
  try {
    await promise;
    t.fail(`${message}: expected ${code}, but it resolved`);
    return undefined;
  } catch (error) {
    t.equal(errorCode(error), code, message);
    return error;
  }
}

function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** Takes `count` events from a subscription, then ends it. */
async function take(
  subscription: AsyncIterable<RecordedEvent> & { unsubscribe(): Promise<void> },
  count: number,
): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  if (count === 0) return seen;
  for await (const recorded of subscription) {
    seen.push(recorded);
    if (seen.length >= count) break;
  }
  await subscription.unsubscribe();
  return seen;
}

export function eventStoreContract(t: Test, target: ContractTarget): void {
  async function withStore(t: Test): Promise<StoreUnderTest> {
    const opened = await target.open();
    t.teardown(() => opened.dispose());
    return opened;
  }

  t.test(`${target.name}: appending`, async (t) => {
    t.test('returns the next expected revision and an increasing position', async (t) => {
      const { store } = await withStore(t);
      const first = await store.appendToStream('s-1', [event('A'), event('B')]);
      t.equal(first.nextExpectedRevision, 1n);
      const second = await store.appendToStream('s-1', [event('C')]);
      t.equal(second.nextExpectedRevision, 2n);
      t.ok(comparePositions(second.position, first.position) > 0, 'positions increase in commit order');
      const other = await store.appendToStream('s-2', [event('A')]);
      t.equal(other.nextExpectedRevision, 0n, 'revisions count per stream');
    });

    const modes: Array<{ mode: ExpectedRevision; onNew: boolean; onExisting: boolean }> = [
      { mode: 'any', onNew: true, onExisting: true },
      { mode: 'no_stream', onNew: true, onExisting: false },
      { mode: 'stream_exists', onNew: false, onExisting: true },
      { mode: 1n, onNew: false, onExisting: true },
      { mode: 0n, onNew: false, onExisting: false },
      { mode: 7n, onNew: false, onExisting: false },
    ];
    for (const { mode, onNew, onExisting } of modes) {
      t.test(`expectedRevision ${String(mode)}`, async (t) => {
        const { store } = await withStore(t);
        const onNewStream = store.appendToStream('fresh', [event('A')], { expectedRevision: mode });
        if (onNew) t.equal((await onNewStream).nextExpectedRevision, 0n, 'accepted on a new stream');
        else {
          const error = (await rejectsWithCode(
            t,
            onNewStream,
            'wrong-expected-version',
            'refused on a new stream',
          )) as {
            streamName: string;
            expectedVersion: unknown;
            actualVersion: unknown;
          };
          t.equal(error.streamName, 'fresh');
          t.equal(error.expectedVersion, mode);
          t.equal(error.actualVersion, 'no_stream');
        }
        await store.appendToStream('existing', [event('A'), event('B')]);
        const onExistingStream = store.appendToStream('existing', [event('C')], { expectedRevision: mode });
        if (onExisting)
          t.equal((await onExistingStream).nextExpectedRevision, 2n, 'accepted on an existing stream');
        else {
          const error = (await rejectsWithCode(
            t,
            onExistingStream,
            'wrong-expected-version',
            'refused on an existing stream',
          )) as { actualVersion: unknown };
          t.equal(error.actualVersion, 1n, 'names the actual revision');
        }
        const stored = await collect(store.readStream('existing'));
        t.equal(stored.length, onExisting ? 3 : 2, 'a refused append stores nothing');
      });
    }

    t.test('of concurrent writers expecting the same revision, exactly one wins', async (t) => {
      const { store } = await withStore(t);
      await store.appendToStream('race', [event('A')]);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          store.appendToStream('race', [event('B', { i })], { expectedRevision: 0n }),
        ),
      );
      t.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, 'one append succeeds');
      const refused = outcomes.filter((o) => o.status === 'rejected');
      t.equal(refused.length, 19);
      t.ok(
        refused.every((o) => errorCode(o.reason) === 'wrong-expected-version'),
        'the others conflict',
      );
      t.equal((await collect(store.readStream('race'))).length, 2);
    });

    t.test('a conflicting append fails alone; concurrent appends to other streams commit', async (t) => {
      const { store } = await withStore(t);
      await store.appendToStream('taken', [event('A')]);
      const [ok1, bad, ok2] = await Promise.allSettled([
        store.appendToStream('one', [event('A')], { expectedRevision: 'no_stream' }),
        store.appendToStream('taken', [event('B')], { expectedRevision: 'no_stream' }),
        store.appendToStream('two', [event('A'), event('B')], { expectedRevision: 'any' }),
      ]);
      t.equal(ok1.status, 'fulfilled');
      t.equal(bad.status, 'rejected');
      t.equal(ok2.status, 'fulfilled');
      t.equal((await collect(store.readAll())).length, 4);
    });

    /** Metadata as the writer gave it: the seal, which the contract allows, taken off and checked. */
    function asWritten(t: Test, metadata: unknown): unknown {
      if (!target.sealsMetadata) return metadata;
      const { integrity, ...rest } = metadata as { integrity?: { hash?: unknown; prev?: unknown } };
      t.match(
        integrity,
        { hash: /^[0-9a-f]{64}$/, prev: /^[0-9a-f]{64}$/ },
        'the seal is in metadata.integrity',
      );
      return Object.keys(rest).length === 0 ? undefined : rest;
    }

    t.test('stores data and metadata as JSON, exactly as written', async (t) => {
      const { store } = await withStore(t);
      const data = {
        text: 'Zirconium 锆 — “operating from” CN',
        n: 12.5,
        list: [1, null, { deep: true }],
        empty: {},
      };
      const metadata = { recordedAt: '2020-09-10T12:00:00.000Z', principal: 'key-1' };
      const id = randomUUID();
      await store.appendToStream('json', [
        event('Typed', data, metadata, id),
        event('Bare', 'just a string'),
      ]);
      const [first, second] = await collect(store.readStream('json'));
      t.same(first?.data, data);
      t.same(asWritten(t, first?.metadata), metadata);
      t.equal(first?.id, id);
      t.equal(first?.type, 'Typed');
      t.equal(first?.streamId, 'json');
      t.ok(first?.created instanceof Date && !Number.isNaN(first.created.getTime()), 'created is a date');
      t.equal(second?.data, 'just a string');
      t.equal(asWritten(t, second?.metadata), undefined, 'absent metadata reads back as undefined');
      t.match(second?.id, /^[0-9a-f-]{36}$/, 'an id is generated when none is given');
    });

    t.test('keeps an event of 1 MiB intact', async (t) => {
      const { store } = await withStore(t);
      const big = 'x'.repeat(1024 * 1024 - 20) + 'é'.repeat(10);
      await store.appendToStream('big', [event('Big', { big })]);
      const [stored] = await collect(store.readStream('big'));
      t.equal((stored!.data as { big: string }).big, big);
    });

    t.test('refuses what it cannot store', async (t) => {
      const { store } = await withStore(t);
      await rejectsWithCode(t, store.appendToStream('s', []), 'invalid-append', 'an empty append');
      await rejectsWithCode(
        t,
        store.appendToStream('', [event('A')]),
        'invalid-append',
        'an empty stream name',
      );
      await rejectsWithCode(
        t,
        store.appendToStream('$all', [event('A')]),
        'invalid-append',
        'a reserved name',
      );
      await rejectsWithCode(t, store.appendToStream('s', [event('')]), 'invalid-append', 'an empty type');
      await rejectsWithCode(
        t,
        store.appendToStream('s', [{ id: '', type: 'A', data: {} }]),
        'invalid-append',
        'an empty event id',
      );
      await rejectsWithCode(
        t,
        store.appendToStream('s', [event('A')], { expectedRevision: 0 as unknown as bigint }),
        'invalid-append',
        'a revision given as a number, not a bigint',
      );
      await rejectsWithCode(
        t,
        store.appendToStream('s', [event('A')], { expectedRevision: -1n }),
        'invalid-append',
        'a negative revision',
      );
      await rejectsWithCode(
        t,
        store.appendToStream('s', [event('A', { n: 1n })]),
        'invalid-append',
        'data that is not JSON',
      );
      t.equal((await collect(store.readAll())).length, 0, 'nothing was stored');
    });
  });

  t.test(`${target.name}: idempotent event ids`, async (t) => {
    t.test('re-appending the same events returns the original result and stores nothing', async (t) => {
      const { store } = await withStore(t);
      const events = [event('A'), event('B')];
      const first = await store.appendToStream('idem', events, { expectedRevision: 'no_stream' });
      await store.appendToStream('other', [event('C')]);
      const again = await store.appendToStream('idem', events, { expectedRevision: 'no_stream' });
      t.same(again, first, 'same revision and position');
      const retryAny = await store.appendToStream('idem', events);
      t.same(retryAny, first);
      t.equal((await collect(store.readAll())).length, 3, 'nothing new stored');
    });

    t.test('concurrent duplicates of one append store it once', async (t) => {
      const { store } = await withStore(t);
      const events = [event('A')];
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          store.appendToStream('dup', events, { expectedRevision: 'no_stream' }),
        ),
      );
      for (const result of results) t.same(result, results[0]);
      t.equal((await collect(store.readAll())).length, 1);
    });

    t.test('an id reused in another stream or another append is refused', async (t) => {
      const { store } = await withStore(t);
      const a = event('A');
      const b = event('B');
      await store.appendToStream('first', [a, b]);
      const acrossStreams = target.capabilities?.eventIdsUniqueAcrossStreams ?? true;
      if (acrossStreams) {
        await rejectsWithCode(t, store.appendToStream('second', [a]), 'duplicate-event-id', 'another stream');
        await rejectsWithCode(
          t,
          store.appendToStream('first', [b, event('C')]),
          'duplicate-event-id',
          'a partial overlap',
        );
      } else {
        t.comment(
          `${target.name} checks event ids per stream only (eventIdsUniqueAcrossStreams: false): ` +
            'an id reused in another stream or a partial overlap is not checked',
        );
      }
      const c = event('C');
      await rejectsWithCode(
        t,
        store.appendToStream('third', [c, c]),
        'duplicate-event-id',
        'twice in one append',
      );
      t.equal((await collect(store.readAll())).length, 2);
    });
  });

  t.test(`${target.name}: reading a stream`, async (t) => {
    const { store } = await withStore(t);
    await store.appendToStream(
      'read',
      [0, 1, 2, 3, 4].map((i) => event('N', { i })),
    );
    await store.appendToStream('noise', [event('N', { i: 99 })]);
    const revisions = async (options: Parameters<EventStore['readStream']>[1]) =>
      (await collect(store.readStream('read', options))).map((e) => Number(e.revision));

    t.same(await revisions(undefined), [0, 1, 2, 3, 4], 'forwards from the start');
    t.same(await revisions({ fromRevision: 2n, maxCount: 2 }), [2, 3], 'from a revision, at most maxCount');
    t.same(await revisions({ direction: 'backwards' }), [4, 3, 2, 1, 0], 'backwards from the end');
    t.same(
      await revisions({ direction: 'backwards', fromRevision: 1n }),
      [1, 0],
      'backwards from a revision',
    );
    t.same(await revisions({ direction: 'backwards', maxCount: 1 }), [4], 'the last event');
    t.same(await revisions({ fromRevision: 9n }), [], 'past the end');
    t.same(await revisions({ fromRevision: 'end' }), [], 'forwards from the end is empty');
    await rejectsWithCode(t, collect(store.readStream('missing')), 'stream-not-found', 'an unknown stream');
  });

  t.test(`${target.name}: reading $all`, async (t) => {
    const { store } = await withStore(t);
    await store.appendToStream('claim-1', [event('ClaimMade'), event('ClaimDenied')]);
    await store.appendToStream('key-1', [event('KeyCreated')]);
    await store.appendToStream('claim-2', [event('ClaimMade')]);
    await store.appendToStream('claim-1', [event('ClaimConfirmed')]);
    const all = await collect(store.readAll());
    t.same(
      all.map((e) => e.type),
      ['ClaimMade', 'ClaimDenied', 'KeyCreated', 'ClaimMade', 'ClaimConfirmed'],
      'in commit order',
    );
    for (let i = 1; i < all.length; i += 1) {
      t.ok(comparePositions(all[i]!.position, all[i - 1]!.position) > 0, `position ${i} increases`);
    }
    const third = all[2]!.position;
    t.same(
      (await collect(store.readAll({ fromPosition: third }))).map((e) => e.type),
      ['KeyCreated', 'ClaimMade', 'ClaimConfirmed'],
      'forwards from a position, inclusive',
    );
    t.same(
      (await collect(store.readAll({ fromPosition: third, direction: 'backwards' }))).map((e) => e.type),
      ['KeyCreated', 'ClaimDenied', 'ClaimMade'],
      'backwards from a position, inclusive',
    );
    t.same(
      (await collect(store.readAll({ direction: 'backwards', maxCount: 2 }))).map((e) => e.type),
      ['ClaimConfirmed', 'ClaimMade'],
      'the newest events',
    );
    t.same(
      (await collect(store.readAll({ filter: { streamNamePrefixes: ['claim-'] } }))).map((e) => e.streamId),
      ['claim-1', 'claim-1', 'claim-2', 'claim-1'],
      'filtered by stream-name prefix',
    );
    t.same(
      (
        await collect(
          store.readAll({ filter: { eventTypes: ['ClaimDenied', 'ClaimConfirmed'] }, maxCount: 5 }),
        )
      ).map((e) => e.type),
      ['ClaimDenied', 'ClaimConfirmed'],
      'filtered by event type',
    );
    t.same(
      (await collect(store.readAll({ filter: { eventTypes: ['ClaimMade'] }, maxCount: 1 }))).map(
        (e) => e.streamId,
      ),
      ['claim-1'],
      'maxCount counts matching events',
    );
    t.same(await collect(store.readAll({ fromPosition: 'end' })), [], 'forwards from the end is empty');
  });

  t.test(`${target.name}: reads of 100k events`, async (t) => {
    const { store } = await withStore(t);
    const perAppend = 1000;
    for (let batch = 0; batch < 100; batch += 1) {
      await store.appendToStream(
        `bulk-${batch % 10}`,
        Array.from({ length: perAppend }, (_, i) => event('Bulk', { n: batch * perAppend + i })),
      );
    }
    let count = 0;
    let ordered = true;
    let previous = -1;
    for await (const recorded of store.readAll()) {
      const n = (recorded.data as { n: number }).n;
      if (n !== previous + 1) ordered = false;
      previous = n;
      count += 1;
    }
    t.equal(count, 100_000, 'every event read back');
    t.ok(ordered, 'in the order appended');
    const stream = await collect(store.readStream('bulk-3'));
    t.equal(stream.length, 10_000);
    t.ok(
      stream.every((e, i) => e.revision === BigInt(i)),
      'stream revisions are contiguous',
    );
  });

  t.test(`${target.name}: subscribing to $all`, async (t) => {
    t.test('catches up from the start, then goes live', async (t) => {
      const { store } = await withStore(t);
      await store.appendToStream('s', [event('A'), event('B')]);
      const subscription = store.subscribeToAll();
      const received = take(subscription, 4);
      await store.appendToStream('s', [event('C')]);
      await store.appendToStream('t', [event('D')]);
      t.same(
        (await received).map((e) => e.type),
        ['A', 'B', 'C', 'D'],
      );
    });

    t.test('from a position, delivers strictly after it', async (t) => {
      const { store } = await withStore(t);
      for (let i = 0; i < 10; i += 1) await store.appendToStream('s', [event('N', { i })]);
      const all = await collect(store.readAll());
      const received = await take(store.subscribeToAll({ fromPosition: all[4]!.position }), 5);
      t.same(
        received.map((e) => (e.data as { i: number }).i),
        [5, 6, 7, 8, 9],
      );
    });

    t.test("from 'end', delivers only what comes next", async (t) => {
      const { store } = await withStore(t);
      await store.appendToStream('s', [event('Old')]);
      const subscription = store.subscribeToAll({ fromPosition: 'end' });
      const received = take(subscription, 2);
      await store.appendToStream('s', [event('New1')]);
      await store.appendToStream('s', [event('New2')]);
      t.same(
        (await received).map((e) => e.type),
        ['New1', 'New2'],
      );
    });

    t.test('applies filters', async (t) => {
      const { store } = await withStore(t);
      await store.appendToStream('claim-1', [event('ClaimMade'), event('ClaimDenied')]);
      await store.appendToStream('key-1', [event('KeyCreated')]);
      const byType = take(store.subscribeToAll({ filter: { eventTypes: ['ClaimDenied'] } }), 2);
      const byPrefix = take(store.subscribeToAll({ filter: { streamNamePrefixes: ['key-'] } }), 2);
      await store.appendToStream('claim-2', [event('ClaimMade'), event('ClaimDenied')]);
      await store.appendToStream('key-2', [event('KeyRevoked')]);
      t.same(
        (await byType).map((e) => e.streamId),
        ['claim-1', 'claim-2'],
      );
      t.same(
        (await byPrefix).map((e) => e.type),
        ['KeyCreated', 'KeyRevoked'],
      );
    });

    t.test(
      'hands over from catch-up to live without a gap or a duplicate under concurrent writers',
      async (t) => {
        const { store, openAnother } = await withStore(t);
        const other = openAnother === undefined ? store : await openAnother();
        if (other !== store) t.teardown(() => other.close());
        for (let i = 0; i < 600; i += 1) await store.appendToStream(`pre-${i % 7}`, [event('Pre', { i })]);
        const writers = 6;
        const perWriter = 150;
        const expected = 600 + writers * perWriter;
        const subscription = store.subscribeToAll();
        const received = take(subscription, expected);
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            const writer = w % 2 === 0 ? store : other;
            for (let i = 0; i < perWriter; i += 1) {
              await writer.appendToStream(`live-${w}-${i % 5}`, [event('Live', { w, i })]);
            }
          }),
        );
        const delivered = await received;
        const logged = await collect(store.readAll());
        t.equal(delivered.length, expected, 'every event delivered');
        t.same(
          delivered.map((e) => e.id),
          logged.map((e) => e.id),
          'exactly the log, in log order',
        );
        t.equal(new Set(delivered.map((e) => e.id)).size, expected, 'no duplicates');
      },
    );

    t.test('ends when unsubscribed', async (t) => {
      const { store } = await withStore(t);
      await store.appendToStream('s', [event('A')]);
      const subscription = store.subscribeToAll();
      const iterator = subscription[Symbol.asyncIterator]();
      t.equal((await iterator.next()).value?.type, 'A');
      const pending = iterator.next();
      await subscription.unsubscribe();
      t.equal((await pending).done, true, 'a waiting read ends');
    });

    t.test('ends when the store closes, and the closed store refuses appends', async (t) => {
      const opened = await target.open();
      const { store } = opened;
      await store.appendToStream('s', [event('A')]);
      const iterator = store.subscribeToAll()[Symbol.asyncIterator]();
      t.equal((await iterator.next()).value?.type, 'A');
      const pending = iterator.next();
      await opened.dispose();
      t.equal((await pending).done, true, 'a waiting read ends; consumers resume from their own checkpoint');
      await rejectsWithCode(
        t,
        store.appendToStream('s', [event('B')]),
        'event-store-closed',
        'appends refused',
      );
      await rejectsWithCode(t, collect(store.readAll()), 'event-store-closed', 'reads refused');
      t.throws(() => store.subscribeToAll(), { code: 'event-store-closed' }, 'new subscriptions refused');
    });
  });

  t.test(`${target.name}: another connection to the same log`, async (t) => {
    const { store, openAnother } = await withStore(t);
    if (openAnother === undefined) {
      t.comment(`${target.name} has no second connection (a log in one process's memory); nothing to check`);
      return;
    }
    const other = await openAnother();
    t.teardown(() => other.close());
    const live = take(store.subscribeToAll(), 2);
    await other.appendToStream('remote', [event('FromOther')]);
    t.same(
      (await collect(store.readStream('remote'))).map((e) => e.type),
      ['FromOther'],
      'reads see the other connection’s appends',
    );
    await rejectsWithCode(
      t,
      store.appendToStream('remote', [event('Conflict')], { expectedRevision: 'no_stream' }),
      'wrong-expected-version',
      'revision checks see them too',
    );
    await other.appendToStream('remote', [event('Second')], { expectedRevision: 0n });
    t.same(
      (await live).map((e) => e.type),
      ['FromOther', 'Second'],
      'subscriptions see them live',
    );
  });

  t.test(`${target.name}: crash safety`, async (t) => {
    const opened = await withStore(t);
    if (opened.spawnAppender === undefined || opened.reopen === undefined) {
      t.comment(`${target.name} keeps nothing across a process's death; nothing to check`);
      return;
    }
    const child = opened.spawnAppender();
    const acknowledged: Array<{
      streamId: string;
      ids: string[];
      nextExpectedRevision: string;
      position: string;
    }> = [];
    const lines = createInterface({ input: child.stdout! });
    const killed = new Promise<void>((resolve) => {
      lines.on('line', (line) => {
        if (!line.startsWith('ack ')) return;
        acknowledged.push(JSON.parse(line.slice(4)));
        if (acknowledged.length === 300) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    await killed;
    t.ok(acknowledged.length >= 300, `the child had ${acknowledged.length} appends acknowledged when killed`);

    const store = await opened.reopen();
    const byId = new Map<string, RecordedEvent>();
    for await (const recorded of store.readAll()) byId.set(recorded.id, recorded);
    const missing = acknowledged.filter((ack) => ack.ids.some((id) => !byId.has(id)));
    t.equal(missing.length, 0, 'every acknowledged append survived');
    const misplaced = acknowledged.filter((ack) => {
      const last = byId.get(ack.ids[ack.ids.length - 1]!);
      return last?.streamId !== ack.streamId || String(last.revision) !== ack.nextExpectedRevision;
    });
    t.equal(misplaced.length, 0, 'at the revision that was acknowledged');

    const streams = new Map<string, RecordedEvent[]>();
    for (const recorded of byId.values()) {
      streams.set(recorded.streamId, [...(streams.get(recorded.streamId) ?? []), recorded]);
    }
    let torn = 0;
    for (const events of streams.values()) {
      const revisions = events.map((e) => e.revision).sort((a, b) => (a < b ? -1 : 1));
      if (events.length % 3 !== 0 || revisions.some((r, i) => r !== BigInt(i))) torn += 1;
    }
    t.equal(torn, 0, 'no append is half-written: every stream holds whole appends, contiguous revisions');
    const after = await store.appendToStream('after-crash', [event('Alive')]);
    t.equal(after.nextExpectedRevision, 0n, 'the reopened store takes appends');
  });
}
