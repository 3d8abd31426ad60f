import { InMemoryEventStore } from '@ledger/event-store';
import { LedgerQueries, ProjectionRuntime, ReadModels } from '@ledger/projections';
import t, { type Test } from 'tap';
import { claimIds, memoryLogger, retract, run, september2020 } from './fixtures/ledger.fixtures.js';

async function scenario(t: Test) {
  const store = new InMemoryEventStore();
  await september2020(store);
  const path = `${t.testdir()}/read.db`;
  const readModels = ReadModels.open(path);
  const runtime = new ProjectionRuntime({ store, readModels, logger: memoryLogger().logger });
  const queries = LedgerQueries.open(path, { runtime });
  t.teardown(async () => {
    await runtime.stop();
    queries.close();
    readModels.close();
    await store.close();
  });
  runtime.start();
  t.ok(await queries.waitForPosition(9, 5000), 'folds the nine events');
  return { store, queries, runtime };
}

t.test('the September 2020 scenario of DESIGN §1, now', async (t) => {
  const { queries } = await scenario(t);

  t.match(queries.getActor('zirconium'), {
    actorId: 'zirconium',
    name: 'Zirconium',
    aliases: ['APT31'],
    status: 'contested',
    attributions: [
      {
        state: 'CN',
        status: 'contested',
        claims: 1,
        activeClaims: 1,
        denials: 1,
        confirmations: 1,
        claimants: ['microsoft'],
        deniers: ['cn-mfa'],
        confirmers: ['us-dhs'],
        firstStatedAt: '2020-09-10T16:00:00Z',
        lastStatedAt: '2020-09-11T15:00:00+08:00',
      },
    ],
    position: 8,
  });
  t.notOk('lastStatedAt' in queries.getActor('zirconium')!, 'the body of GET /v1/actors/:actorId exactly');
  t.equal(
    queries.getActor('strontium')?.status,
    'contested',
    'Strontium: denied by the Kremlin, confirmed by DHS',
  );
  t.equal(queries.getActor('strontium')?.position, 9);
  t.equal(queries.getActor('phosphorus')?.status, 'confirmed', 'Phosphorus: confirmed, never denied');
  t.equal(queries.getActor('fancy-bear'), undefined, 'aliases never merge actors');

  t.same(queries.listActors({ limit: 10 }), {
    actors: [
      {
        actorId: 'phosphorus',
        name: 'Phosphorus',
        aliases: ['Charming Kitten', 'APT35'],
        status: 'confirmed',
        attributions: [{ state: 'IR', status: 'confirmed' }],
        lastStatedAt: '2020-09-10T18:00:00-04:00',
      },
      {
        actorId: 'strontium',
        name: 'Strontium',
        aliases: ['Fancy Bear', 'APT28'],
        status: 'contested',
        attributions: [{ state: 'RU', status: 'contested' }],
        lastStatedAt: '2020-09-11T12:00:00+03:00',
      },
      {
        actorId: 'zirconium',
        name: 'Zirconium',
        aliases: ['APT31'],
        status: 'contested',
        attributions: [{ state: 'CN', status: 'contested' }],
        lastStatedAt: '2020-09-11T15:00:00+08:00',
      },
    ],
    next: null,
  });

  const claim = queries.getClaim(claimIds.zirconium)!;
  t.match(claim, {
    claimId: claimIds.zirconium,
    claimant: { id: 'microsoft', name: 'Microsoft', kind: 'vendor' },
    spokesperson: { name: 'Tom Burt' },
    actor: { id: 'zirconium', name: 'Zirconium', aliases: ['APT31'] },
    attribution: { state: 'CN', relation: 'operating-from' },
    statedAt: '2020-09-10T16:00:00Z',
    recordedAt: '2020-09-10T16:05:00.000Z',
    position: 1,
    status: 'contested',
    denials: [{ denier: { id: 'cn-mfa' }, recordedAt: '2020-09-11T07:30:00.000Z', position: 8 }],
    confirmations: [
      { confirmer: { id: 'us-dhs' }, caveats: ['No election systems were affected.'], position: 5 },
    ],
    revision: 2,
  });
  t.equal(claim.retraction, undefined);
  t.type(claim.denials[0]?.eventId, 'string');
  t.equal(queries.getClaim('0174776e-8a00-7000-8000-00000000ffff'), undefined, 'unknown claim');

  const disputes = queries.getDisputes('zirconium')!;
  t.same(
    disputes.entries.map((entry) => [entry.kind, entry.party.id, entry.position]),
    [
      ['claim', 'microsoft', 1],
      ['confirmation', 'us-dhs', 5],
      ['denial', 'cn-mfa', 8],
    ],
    'ordered by statedAt',
  );
  t.same(disputes.entries[0]?.source, {
    url: 'https://blogs.microsoft.com/on-the-issues/2020/09/10/cyberattacks-us-elections-trump-biden/',
    title: 'New cyberattacks targeting U.S. elections',
    publishedAt: '2020-09-10T16:00:00Z',
  });
  t.equal(queries.getDisputes('nobody'), undefined);
});

t.test('the September 2020 scenario at past moments', async (t) => {
  const { queries } = await scenario(t);
  const status = (actorId: string, cutoff: { asOf?: string; knownAt?: string }) =>
    queries.getActor(actorId, cutoff)?.status;

  t.test('asOf folds what had been stated by then', async (t) => {
    t.equal(status('zirconium', { asOf: '2020-09-10T15:59:59Z' }), undefined, 'before the claim: 404');
    t.equal(status('zirconium', { asOf: '2020-09-10T16:00:00Z' }), 'alleged', 'asOf is inclusive');
    t.equal(status('zirconium', { asOf: '2020-09-10T21:59:59.9999Z' }), 'alleged', 'finer than milliseconds');
    t.equal(
      status('zirconium', { asOf: '2020-09-10T22:00:00.0001Z' }),
      'confirmed',
      'DHS spoke at 18:00-04:00',
    );
    t.equal(status('zirconium', { asOf: '2020-09-11T06:59:59Z' }), 'confirmed');
    t.equal(status('zirconium', { asOf: '2020-09-11T15:00:00+08:00' }), 'contested', 'Beijing denied');
    t.equal(status('strontium', { asOf: '2020-09-11T08:00:00Z' }), 'confirmed', 'Moscow had not spoken yet');
    t.equal(status('strontium', { asOf: '2020-09-11T09:00:00Z' }), 'contested');
    t.match(queries.getActor('zirconium', { asOf: '2020-09-10T23:00:00Z' }), {
      position: 5,
      attributions: [{ denials: 0, confirmations: 1, lastStatedAt: '2020-09-10T18:00:00-04:00' }],
    });
  });

  t.test('knownAt folds what the ledger had recorded by then', async (t) => {
    t.equal(status('strontium', { knownAt: '2020-09-10T16:05:59Z' }), undefined, 'not recorded yet');
    t.equal(status('strontium', { knownAt: '2020-09-10T16:06:00Z' }), 'alleged');
    t.equal(
      status('phosphorus', { knownAt: '2020-09-10T22:09:59.999Z' }),
      'alleged',
      'stated at 22:00Z, recorded 22:10Z',
    );
    t.equal(status('phosphorus', { knownAt: '2020-09-10T22:10:00Z' }), 'confirmed');
    t.equal(status('zirconium', { knownAt: '2020-09-11T07:29:00Z' }), 'confirmed');
    t.equal(status('zirconium', { knownAt: '2020-09-11T07:30:00Z' }), 'contested');
  });

  t.test('both cut-offs at once', async (t) => {
    t.equal(
      status('zirconium', { asOf: '2020-09-11T08:00:00Z', knownAt: '2020-09-11T07:15:00Z' }),
      'confirmed',
      'the denial was stated by 08:00 but recorded only at 07:30',
    );
    t.equal(
      status('zirconium', { asOf: '2020-09-10T20:00:00Z', knownAt: '2020-09-12T00:00:00Z' }),
      'alleged',
    );
  });

  t.test('disputes at a cut-off', async (t) => {
    t.same(
      queries.getDisputes('strontium', { knownAt: '2020-09-11T00:00:00Z' })?.entries.map((e) => e.kind),
      ['claim', 'confirmation'],
    );
    t.equal(
      queries.getDisputes('strontium', { asOf: '2020-01-01T00:00:00Z' }),
      undefined,
      'nothing yet: 404',
    );
  });
});

t.test('a retraction, live and at a past moment', async (t) => {
  const { store, queries } = await scenario(t);
  const { position } = await run(
    store,
    retract(claimIds.phosphorus),
    '2020-10-01T08:00:00.000Z',
    'key-microsoft',
  );
  t.ok(await queries.waitForPosition(Number(position.commit), 5000));
  t.equal(queries.getActor('phosphorus')?.status, 'retracted');
  t.match(queries.getActor('phosphorus')?.attributions, [
    { claims: 1, activeClaims: 0, status: 'retracted' },
  ]);
  t.equal(queries.getActor('phosphorus', { asOf: '2020-09-30T00:00:00Z' })?.status, 'confirmed');
  t.match(queries.getClaim(claimIds.phosphorus), {
    status: 'retracted',
    retraction: { by: 'microsoft', reason: 'Attribution withdrawn after review.', position: 10 },
    revision: 2,
  });
  t.same(
    queries.getDisputes('phosphorus')?.entries.map((entry) => [entry.kind, entry.party.id]),
    [
      ['claim', 'microsoft'],
      ['confirmation', 'us-dhs'],
      ['retraction', 'microsoft'],
    ],
  );
});
