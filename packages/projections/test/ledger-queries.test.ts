import { type AttributionStatus, type Party, statusOf } from '@ledger/domain';
import { InMemoryEventStore } from '@ledger/event-store';
import {
  CHECKPOINT_NAME,
  LedgerQueries,
  type ProgressSource,
  ProjectionRuntime,
  ReadModels,
} from '@ledger/projections';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import {
  claimInput,
  cnMfa,
  confirm,
  deny,
  kremlin,
  make,
  memoryLogger,
  microsoft,
  retract,
  run,
} from './fixtures/ledger.fixtures.js';

const claimants: Party[] = [
  microsoft,
  { id: 'mandiant', name: 'Mandiant', kind: 'vendor' },
  { id: 'reuters', name: 'Reuters', kind: 'media' },
];
const actors = ['Zirconium', 'Strontium', 'Phosphorus', 'Volt Typhoon', 'Lazarus Group'];
const states = ['CN', 'RU', 'IR', 'KP'] as const;

interface Expected {
  retracted: boolean;
  denials: number;
  confirmations: number;
  claimId: string;
  actorId: string;
  claimant: string;
  state: string;
  position: number;
}

const idOf = (i: number) => `0174776e-8a00-7000-8000-${i.toString(16).padStart(12, '0')}`;
const hour = (h: number) => new Date(Date.UTC(2021, 0, 1, h)).toISOString();

/** 30 claims over 5 actors, 3 claimants and 4 states; some denied, confirmed or retracted. */
async function dataset(store: InMemoryEventStore): Promise<Expected[]> {
  const expected: Expected[] = [];
  for (let i = 0; i < 30; i += 1) {
    const claimant = claimants[i % 3]!;
    const actor = actors[i % 5]!;
    const state = states[i % 4]!;
    const claimId = idOf(i + 1);
    const statedAt = hour(i);
    const { position } = await run(
      store,
      make(
        claimId,
        claimInput({
          claimant,
          actor: { name: actor },
          attribution: { state, relation: 'sponsored-by' },
          statedAt,
        }),
      ),
      hour(i),
      `key-${claimant.id}`,
    );
    const facts: Expected = {
      claimId,
      actorId: actor.toLowerCase().replace(' ', '-'),
      claimant: claimant.id,
      state,
      position: Number(position.commit),
      retracted: false,
      denials: 0,
      confirmations: 0,
    };
    if (i % 3 === 1) {
      await run(store, deny(claimId, { denier: i % 2 ? cnMfa : kremlin, statedAt }), hour(i + 1));
      facts.denials = 1;
    }
    if (i % 4 === 2) {
      await run(store, confirm(claimId, { statedAt }), hour(i + 2));
      facts.confirmations = 1;
    }
    if (i % 7 === 3) {
      await run(store, retract(claimId, { by: claimant.id, statedAt }), hour(i + 3));
      facts.retracted = true;
    }
    expected.push(facts);
  }
  return expected;
}

async function setup(t: Test) {
  const dir = t.testdir();
  const store = new InMemoryEventStore();
  const expected = await dataset(store);
  const readModels = ReadModels.open(`${dir}/read.db`);
  const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
  const queries = LedgerQueries.open(`${dir}/read.db`, { runtime });
  t.teardown(async () => {
    await runtime.stop();
    queries.close();
    readModels.close();
    await store.close();
  });
  runtime.start();
  const last = (await store.readAll({ direction: 'backwards', maxCount: 1 })[Symbol.asyncIterator]().next())
    .value!;
  t.ok(await queries.waitForPosition(Number(last.position.commit), 5000));
  return { dir, store, expected, queries, runtime };
}

/** Every page of a list: each full but the last, whose `next` is null. */
function pages<T>(
  t: Test,
  limit: number,
  fetch: (cursor: string | undefined) => { items: T[]; next: string | null },
): T[] {
  const all: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page += 1) {
    const { items, next } = fetch(cursor);
    all.push(...items);
    if (next === null) {
      t.ok(items.length <= limit, 'the last page is not over the limit');
      return all;
    }
    t.equal(items.length, limit, 'a page before the last is full');
    cursor = next;
  }
  throw new Error('too many pages');
}

const claimStatus = (e: Expected): AttributionStatus => statusOf([e]);

t.test('listClaims filters and pages', async (t) => {
  const { expected, queries } = await setup(t);
  const cases: [string, Parameters<LedgerQueries['listClaims']>[0], (e: Expected) => boolean][] = [
    ['no filter', { limit: 7 }, () => true],
    ['by actor', { actor: 'volt-typhoon', limit: 2 }, (e) => e.actorId === 'volt-typhoon'],
    ['by claimant', { claimant: 'reuters', limit: 3 }, (e) => e.claimant === 'reuters'],
    ['by state', { state: 'KP', limit: 4 }, (e) => e.state === 'KP'],
    ['by status', { status: 'disputed', limit: 2 }, (e) => claimStatus(e) === 'disputed'],
    ['by status retracted', { status: 'retracted', limit: 1 }, (e) => e.retracted],
    [
      'combined',
      { claimant: 'microsoft', state: 'CN', limit: 1 },
      (e) => e.claimant === 'microsoft' && e.state === 'CN',
    ],
    ['nothing matches', { actor: 'nobody', limit: 5 }, () => false],
  ];
  for (const [name, filters, keep] of cases) {
    const got = pages(t, filters.limit, (cursor) => {
      const { claims, next } = queries.listClaims({ ...filters, cursor });
      return { items: claims, next };
    });
    const want = expected.filter(keep);
    t.same(
      got.map((claim) => [claim.claimId, claim.status, claim.position]),
      want.map((e) => [e.claimId, claimStatus(e), e.position]),
      name,
    );
  }
  t.ok(
    expected.some((e) => claimStatus(e) === 'contested'),
    'the data set has every status',
  );
});

t.test('listActors filters and pages, ordered by actorId', async (t) => {
  const { expected, queries } = await setup(t);
  const actorIds = [...new Set(expected.map((e) => e.actorId))].sort();
  const want = actorIds.map((actorId) => {
    const claims = expected.filter((e) => e.actorId === actorId);
    const byState = [...new Set(claims.map((e) => e.state))].sort();
    return {
      actorId,
      status: statusOf(claims),
      attributions: byState.map((state) => ({
        state,
        status: statusOf(claims.filter((e) => e.state === state)),
      })),
    };
  });
  const cases: [string, Parameters<LedgerQueries['listActors']>[0], (a: (typeof want)[number]) => boolean][] =
    [
      ['no filter', { limit: 2 }, () => true],
      ['by state', { state: 'IR', limit: 1 }, (a) => a.attributions.some((x) => x.state === 'IR')],
      ['by status', { status: want[0]!.status, limit: 1 }, (a) => a.status === want[0]!.status],
      [
        'by state and status',
        { state: 'CN', status: 'contested', limit: 2 },
        (a) => a.status === 'contested' && a.attributions.some((x) => x.state === 'CN'),
      ],
      ['nothing matches', { state: 'FR', limit: 3 }, () => false],
    ];
  for (const [name, filters, keep] of cases) {
    const got = pages(t, filters.limit, (cursor) => {
      const { actors: items, next } = queries.listActors({ ...filters, cursor });
      return { items, next };
    });
    t.same(
      got.map(({ actorId, status, attributions }) => ({ actorId, status, attributions })),
      want.filter(keep),
      name,
    );
  }
  const [first] = queries.listActors({ limit: 1 }).actors;
  t.match(first, { actorId: 'lazarus-group', name: 'Lazarus Group', aliases: [], lastStatedAt: hour(29) });
});

t.test('audit filters and pages', async (t) => {
  const { queries, store } = await setup(t);
  const all: { position: number; type: string }[] = [];
  for await (const event of store.readAll())
    all.push({ position: Number(event.position.commit), type: event.type });
  const everything = pages(t, 9, (cursor) => {
    const { events, next } = queries.audit({ limit: 9, cursor });
    return { items: events, next };
  });
  t.same(
    everything.map((e) => [e.position, e.type]),
    all.map((e) => [e.position, e.type]),
    'every event, in position order',
  );
  t.match(everything[0], {
    eventId: /^[0-9a-f-]{36}$/,
    type: 'ClaimMade',
    streamId: `claim-${idOf(1)}`,
    claimId: idOf(1),
    actorId: 'zirconium',
    party: { id: 'microsoft', name: 'Microsoft', kind: 'vendor' },
    statedAt: hour(0),
    recordedAt: hour(0),
    principal: 'key-microsoft',
    data: { claimId: idOf(1), actor: { id: 'zirconium' } },
  });
  const retraction = everything.find((e) => e.type === 'ClaimRetracted')!;
  t.equal(
    retraction.party.id,
    everything.find((e) => e.claimId === retraction.claimId)!.party.id,
    'a retraction speaks as its claimant',
  );

  const select = (filters: Omit<Parameters<LedgerQueries['audit']>[0], 'limit' | 'cursor'>, limit = 2) =>
    pages(t, limit, (cursor) => {
      const { events, next } = queries.audit({ ...filters, limit, cursor });
      return { items: events, next };
    }).map((e) => e.position);
  const where = (keep: (e: (typeof everything)[number]) => boolean) =>
    everything.filter(keep).map((e) => e.position);

  t.same(
    select({ party: 'cn-mfa' }),
    where((e) => e.party.id === 'cn-mfa'),
    'by speaking party',
  );
  t.same(
    select({ actor: 'strontium' }),
    where((e) => e.actorId === 'strontium'),
    'by actor',
  );
  t.same(
    select({ claim: idOf(2) }),
    where((e) => e.claimId === idOf(2)),
    'by claim',
  );
  t.same(
    select({ types: ['ClaimDenied', 'ClaimRetracted'] }),
    where((e) => e.type === 'ClaimDenied' || e.type === 'ClaimRetracted'),
    'by types',
  );
  t.same(
    select({ recordedFrom: hour(3), recordedTo: hour(6) }, 3),
    where((e) => e.recordedAt >= hour(3) && e.recordedAt < hour(6)),
    'recordedFrom inclusive, recordedTo exclusive',
  );
  t.same(
    select({ recordedFrom: '2021-01-01T02:59:59.9995Z', recordedTo: '2021-01-01T05:59:59.9995Z' }, 3),
    where((e) => e.recordedAt >= hour(3) && e.recordedAt < hour(6)),
    'bounds finer than milliseconds',
  );
  t.same(
    select({ recordedFrom: '2021-01-01T05:00:00+02:00', party: 'microsoft', types: ['ClaimMade'] }),
    where((e) => e.recordedAt >= hour(3) && e.party.id === 'microsoft' && e.type === 'ClaimMade'),
    'combined, zones compared as instants',
  );
});

t.test('eventsAfter: the events strictly after a position, filtered, in position order', async (t) => {
  const { queries } = await setup(t);
  const everything = queries.audit({ limit: 500 }).events;
  t.same(queries.eventsAfter(0, {}, 500), everything, 'audit-shaped, every event after 0');
  const after = everything[4]!.position;
  t.same(
    queries.eventsAfter(after, {}, 3),
    everything.filter((e) => e.position > after).slice(0, 3),
    'strictly after, at most limit',
  );
  t.same(queries.eventsAfter(everything.at(-1)!.position, {}, 10), [], 'nothing after the last');

  type Made = { attribution: { state: string } };
  const expectedState = new Map(
    everything
      .filter((e) => e.type === 'ClaimMade')
      .map((e) => [e.claimId, (e.data as Made).attribution.state]),
  );
  const cases: [
    string,
    Parameters<LedgerQueries['eventsAfter']>[1],
    (e: (typeof everything)[number]) => boolean,
  ][] = [
    ['by types', { types: ['ClaimDenied'] }, (e) => e.type === 'ClaimDenied'],
    ['by actor', { actor: 'strontium' }, (e) => e.actorId === 'strontium'],
    ['by state', { state: 'KP' }, (e) => expectedState.get(e.claimId) === 'KP'],
    [
      'by actor, types and state',
      { actor: 'zirconium', types: ['ClaimMade', 'ClaimConfirmed'], state: 'CN' },
      (e) =>
        e.actorId === 'zirconium' &&
        ['ClaimMade', 'ClaimConfirmed'].includes(e.type) &&
        expectedState.get(e.claimId) === 'CN',
    ],
    [
      'by types and state',
      { types: ['ClaimRetracted'], state: 'IR' },
      (e) => e.type === 'ClaimRetracted' && expectedState.get(e.claimId) === 'IR',
    ],
    ['nothing matches', { actor: 'nobody' }, () => false],
  ];
  for (const [name, filter, keep] of cases) {
    const got: number[] = [];
    // Page through with a small limit, resuming from the last position seen, as a subscription does.
    for (
      let cursor = 0, page = queries.eventsAfter(cursor, filter, 2);
      ;
      page = queries.eventsAfter(cursor, filter, 2)
    ) {
      got.push(...page.map((e) => e.position));
      if (page.length < 2) break;
      cursor = page.at(-1)!.position;
    }
    const want = everything.filter(keep).map((e) => e.position);
    t.same(got, want, name);
    if (name !== 'nothing matches') t.ok(want.length > 0, `${name}: the data set has such events`);
  }
  t.throws(() => queries.eventsAfter(0, {}, 0), RangeError, 'limit at least 1');
  t.throws(() => queries.eventsAfter(-1, {}, 1), RangeError, 'position not negative');
  t.throws(() => queries.eventsAfter(1.5, {}, 1), RangeError, 'position an integer');
});

t.test('cursors are opaque and checked', async (t) => {
  const { queries } = await setup(t);
  const { next } = queries.listClaims({ limit: 1 });
  t.match(next, /^[A-Za-z0-9_-]+$/, 'base64url');
  for (const cursor of [
    '%%%',
    'bm90IGpzb24',
    Buffer.from('["claims",1.5]').toString('base64url'),
    Buffer.from('["claims",-5]').toString('base64url'),
    Buffer.from('["claims"]').toString('base64url'),
  ]) {
    t.throws(
      () => queries.listClaims({ limit: 1, cursor }),
      { code: 'invalid-cursor', name: 'ProjectionError' },
      cursor,
    );
  }
  t.throws(
    () => queries.listActors({ limit: 1, cursor: next! }),
    { code: 'invalid-cursor' },
    'a claims cursor is not an actors one',
  );
  t.throws(() => queries.audit({ limit: 1, cursor: queries.listActors({ limit: 1 }).next! }), {
    code: 'invalid-cursor',
  });
  t.throws(() => queries.listClaims({ limit: 0 }), RangeError);
});

t.test('claim views show each party with its most recent name and kind', async (t) => {
  const { queries, store } = await setup(t);
  const renamed: Party = { id: 'reuters', name: 'Thomson Reuters', kind: 'media' };
  const { position } = await run(
    store,
    make(idOf(99), claimInput({ claimant: renamed, actor: { name: 'Sandworm' } })),
    '2021-06-01T00:00:00.000Z',
  );
  t.ok(await queries.waitForPosition(Number(position.commit), 5000));
  t.same(queries.getClaim(idOf(3))?.claimant, renamed, 'an older claim by the same party');
  t.same(
    queries.listClaims({ claimant: 'reuters', limit: 500 }).claims.map((claim) => claim.claimant.name),
    Array(11).fill('Thomson Reuters'),
  );
  t.equal(
    queries.audit({ claim: idOf(3), limit: 1 }).events[0]?.party.name,
    'Reuters',
    'the audit shows what was said',
  );
  const actorId = queries.getClaim(idOf(3))!.actor.id;
  const disputes = queries.getDisputes(actorId)!.entries.filter((entry) => entry.party.id === 'reuters');
  t.ok(disputes.length > 0);
  t.ok(
    disputes.every((entry) => entry.party.name === 'Thomson Reuters'),
    'dispute histories, a read model too, show the most recent name',
  );
});

t.test('waitForPosition', async (t) => {
  t.test('wakes on the in-process runtime', async (t) => {
    const { queries, store } = await setup(t);
    const target = queries.checkpoint() + 1;
    const waiting = queries.waitForPosition(target, 5000);
    await store.appendToStream('other', [{ type: 'Noise', data: {} }]);
    t.equal(await waiting, true);
    t.equal(await queries.waitForPosition(target + 10, 30), false, 'times out');
    t.equal(await queries.waitForPosition(target + 10, 0), false, 'no wait at all');
  });

  t.test('polls data_version for another process (another connection) without a runtime link', async (t) => {
    const { dir, queries, store } = await setup(t);
    const remote = LedgerQueries.open(`${dir}/read.db`, { pollIntervalMs: 5 });
    t.teardown(() => remote.close());
    const target = queries.checkpoint() + 1;
    const waiting = remote.waitForPosition(target, 5000);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await store.appendToStream('other', [{ type: 'Noise', data: {} }]);
    t.equal(await waiting, true);
  });

  t.test('a commit between the first waiter’s check and the poll’s start is not missed', async (t) => {
    const dir = t.testdir();
    const readModels = ReadModels.open(`${dir}/read.db`);
    const queries = LedgerQueries.open(`${dir}/read.db`, { pollIntervalMs: 1 });
    const writer = new Database(`${dir}/read.db`);
    t.teardown(() => {
      queries.close();
      writer.close();
      readModels.close();
    });
    const checkpoint = queries.checkpoint.bind(queries);
    let checks = 0;
    // Another process's projector commits position 1 right after the wait's own check read position 0,
    // and nothing is committed after that: only a second look finds it.
    queries.checkpoint = () => {
      const seen = checkpoint();
      checks += 1;
      if (checks === 1) {
        writer
          .prepare('INSERT OR REPLACE INTO checkpoints (name, position, prepare) VALUES (?, 1, 1)')
          .run(CHECKPOINT_NAME);
      }
      return seen;
    };
    const waiting = queries.waitForPosition(1, 600_000);
    t.equal(checks, 2, 'looked again as soon as the poll started');
    // Settled already by that second look: this only ends a wait that missed the commit (false), so that a
    // regression fails here at once instead of waiting out the timeout.
    queries.interruptWaits();
    t.equal(await waiting, true);
  });

  t.test('close() ends pending waits', async (t) => {
    const dir = t.testdir();
    const readModels = ReadModels.open(`${dir}/read.db`);
    t.teardown(() => readModels.close());
    const queries = LedgerQueries.open(`${dir}/read.db`);
    t.equal(queries.checkpoint(), 0, 'nothing folded yet');
    const waiting = queries.waitForPosition(1, 60_000);
    queries.close();
    queries.close();
    t.equal(await waiting, false);
    t.throws(() => queries.checkpoint(), { code: 'read-models-closed' });
  });

  t.test('every wait shares one poll and one progress listener, only while anyone waits', async (t) => {
    const dir = t.testdir();
    const store = new InMemoryEventStore();
    const readModels = ReadModels.open(`${dir}/read.db`);
    const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
    const listeners = new Set<(position: number) => void>();
    const progress: ProgressSource = {
      onProgress(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const queries = LedgerQueries.open(`${dir}/read.db`, { runtime: progress, pollIntervalMs: 5 });
    const remote = LedgerQueries.open(`${dir}/read.db`, { pollIntervalMs: 5 });
    t.teardown(async () => {
      await runtime.stop();
      queries.close();
      remote.close();
      readModels.close();
      await store.close();
    });
    runtime.start(); // before the capture: its lease heartbeat is an interval of its own
    const polls = t.capture(globalThis, 'setInterval', setInterval);

    const linked = [1, 2, 3, 4, 5].map((position) => queries.waitForPosition(position, 60_000));
    const waiting = Array.from({ length: 50 }, (_, i) => remote.waitForPosition(1 + (i % 3), 60_000));
    t.equal(polls.calls.length, 2, 'one poll per LedgerQueries, not one per wait');
    t.equal(listeners.size, 1, 'one progress listener for all the waits');

    for (const listener of listeners) listener(3);
    t.same(
      await Promise.all(linked.slice(0, 3)),
      [true, true, true],
      'a progress signal wakes the waits it satisfies',
    );
    t.equal(listeners.size, 1, 'the others still wait');

    for (let n = 1; n <= 3; n += 1) await store.appendToStream(`other-${n}`, [{ type: 'Noise', data: {} }]);
    t.same(
      await Promise.all(waiting),
      Array(50).fill(true),
      'a commit seen through data_version wakes them all',
    );
    await store.appendToStream('other-4', [{ type: 'Noise', data: {} }]);
    await store.appendToStream('other-5', [{ type: 'Noise', data: {} }]);
    t.same(await Promise.all(linked.slice(3)), [true, true], 'the poll is the fallback of a linked runtime');
    t.equal(listeners.size, 0, 'nobody waits: the listener is removed');

    t.equal(await remote.waitForPosition(6, 20), false);
    t.equal(polls.calls.length, 3, 'the poll stopped once nobody waited, and starts again for a new wait');
  });

  t.test('interruptWaits() resolves every pending wait false at once; the queries stay open', async (t) => {
    const dir = t.testdir();
    const readModels = ReadModels.open(`${dir}/read.db`);
    const queries = LedgerQueries.open(`${dir}/read.db`);
    t.teardown(() => {
      queries.close();
      readModels.close();
    });
    queries.interruptWaits();
    const started = Date.now();
    const waits = [1, 2, 3].map((position) => queries.waitForPosition(position, 60_000));
    queries.interruptWaits();
    t.same(await Promise.all(waits), [false, false, false]);
    t.ok(Date.now() - started < 1000, 'at once, not after the timeout');
    t.equal(queries.checkpoint(), 0, 'the connection is still open');
    t.equal(await queries.waitForPosition(1, 20), false, 'a later wait waits again');
  });

  t.test('a query side may open read.db before any projector', async (t) => {
    const dir = t.testdir();
    const queries = LedgerQueries.open(`${dir}/read.db`);
    t.teardown(() => queries.close());
    t.same(queries.listActors({ limit: 10 }), { actors: [], next: null });
    t.equal(queries.getActor('zirconium', { asOf: '2020-01-01T00:00:00Z' }), undefined);
  });
});
