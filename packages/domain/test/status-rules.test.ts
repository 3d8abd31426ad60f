import type { ClaimFacts, RecordedClaimEvent } from '@ledger/domain';
import {
  AttributionStatus,
  Cutoff,
  claimFactsOf,
  disputeEntries,
  foldClaims,
  statusOf,
  summarizeActor,
} from '@ledger/domain';
import t from 'tap';
import {
  claimIds,
  confirmClaim,
  denyClaim,
  kremlin,
  makeClaim,
  microsoft,
  retractClaim,
  september2020,
  TestLedger,
  un,
  usDhs,
  zirconiumInput,
} from './fixtures/claims.fixtures.js';

const eventsOf = (events: readonly RecordedClaimEvent[], claimId: string) =>
  events.filter((event) => event.data.claimId === claimId);

const facts = (retracted: boolean, denials: number, confirmations: number): ClaimFacts => ({
  retracted,
  denials,
  confirmations,
});

t.test('statusOf applies the rule of DESIGN §4', async (t) => {
  t.same(AttributionStatus.options, ['alleged', 'disputed', 'confirmed', 'contested', 'retracted']);
  t.equal(statusOf([]), undefined, 'no claims, no status');
  t.equal(statusOf([facts(false, 0, 0)]), 'alleged');
  t.equal(statusOf([facts(false, 2, 0)]), 'disputed');
  t.equal(statusOf([facts(false, 0, 1)]), 'confirmed');
  t.equal(statusOf([facts(false, 1, 1)]), 'contested');
  t.equal(
    statusOf([facts(false, 1, 0), facts(false, 0, 1)]),
    'contested',
    'D and C may come from two claims',
  );
  t.equal(statusOf([facts(true, 0, 0), facts(true, 3, 3)]), 'retracted');
  t.equal(statusOf([facts(true, 1, 0), facts(false, 0, 1)]), 'confirmed', 'retracted claims do not count');
  t.equal(statusOf([facts(true, 0, 1), facts(false, 0, 0)]), 'alleged');
});

t.test('the September 2020 scenario', async (t) => {
  const { events } = september2020();

  t.test(
    'Zirconium (CN): claimed by Microsoft, denied by the MFA, confirmed by DHS: contested',
    async (t) => {
      t.same(summarizeActor(eventsOf(events, claimIds.zirconium)), {
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
        position: 59n,
        lastStatedAt: '2020-09-11T15:00:00+08:00',
      });
    },
  );

  t.test('Strontium (RU): denied by the Kremlin and confirmed: contested', async (t) => {
    t.match(summarizeActor(eventsOf(events, claimIds.strontium)), {
      actorId: 'strontium',
      aliases: ['Fancy Bear', 'APT28'],
      status: 'contested',
      attributions: [{ state: 'RU', status: 'contested', deniers: ['ru-kremlin'] }],
    });
  });

  t.test('Phosphorus (IR): claimed and confirmed only: confirmed', async (t) => {
    t.match(summarizeActor(eventsOf(events, claimIds.phosphorus)), {
      actorId: 'phosphorus',
      status: 'confirmed',
      attributions: [{ state: 'IR', status: 'confirmed', denials: 0, deniers: [], confirmers: ['us-dhs'] }],
    });
  });

  t.test('as known on the evening of 10 September, before any denial: confirmed', async (t) => {
    const zirconium = eventsOf(events, claimIds.zirconium);
    t.match(summarizeActor(zirconium, { knownAt: '2020-09-10T23:00:00Z' }), {
      status: 'confirmed',
      position: 38n,
    });
    t.match(summarizeActor(zirconium, { asOf: '2020-09-10T23:59:59+00:00' }), { status: 'confirmed' });
  });

  t.test('before the claim was stated or recorded, the actor is unknown', async (t) => {
    const zirconium = eventsOf(events, claimIds.zirconium);
    t.equal(summarizeActor(zirconium, { asOf: '2020-09-10T15:59:59Z' }), undefined);
    t.equal(summarizeActor(zirconium, { knownAt: '2020-09-10T16:04:59Z' }), undefined);
  });

  t.test('the disputes of Zirconium, in the order they were stated', async (t) => {
    t.same(disputeEntries(eventsOf(events, claimIds.zirconium)), [
      {
        kind: 'claim',
        claimId: claimIds.zirconium,
        party: microsoft,
        statedAt: '2020-09-10T16:00:00Z',
        recordedAt: '2020-09-10T16:05:00Z',
        text: 'Zirconium, operating from China, attacked people associated with the Biden campaign.',
        source: zirconiumInput().source,
        position: 17n,
      },
      {
        kind: 'confirmation',
        claimId: claimIds.zirconium,
        party: usDhs,
        statedAt: '2020-09-10T18:00:00-04:00',
        recordedAt: '2020-09-10T22:10:00Z',
        text: 'The warning is consistent with what the intelligence community has reported.',
        position: 38n,
      },
      {
        kind: 'denial',
        claimId: claimIds.zirconium,
        party: { id: 'cn-mfa', name: 'Ministry of Foreign Affairs of the PRC', kind: 'government' },
        statedAt: '2020-09-11T15:00:00+08:00',
        recordedAt: '2020-09-11T07:30:00Z',
        text: 'China firmly opposes all forms of cyber attacks.',
        position: 59n,
      },
    ]);
  });
});

t.test('summarizeActor over several claims', async (t) => {
  const ledger = new TestLedger();
  const [first, second, third] = [
    '0174776e-8a00-7000-8000-0000000000a1',
    '0174776e-8a00-7000-8000-0000000000a2',
    '0174776e-8a00-7000-8000-0000000000a3',
  ] as const;
  // Stated later but recorded first: the name comes from the claim stated most recently.
  ledger.run(
    makeClaim(
      first,
      zirconiumInput({
        actor: { name: 'ZIRCONIUM', aliases: ['Judgment Panda', 'APT31'] },
        statedAt: '2021-03-01T00:00:00Z',
      }),
    ),
    '2021-03-01T00:00:00Z',
  );
  ledger.run(
    makeClaim(
      second,
      zirconiumInput({
        claimant: { id: 'mandiant', name: 'Mandiant', kind: 'vendor' },
        actor: { name: 'Zirconium', aliases: ['apt31', 'Violet Typhoon'] },
        attribution: { state: 'CN', relation: 'sponsored-by' },
        statedAt: '2020-06-01T00:00:00+02:00',
      }),
    ),
    '2021-03-02T00:00:00Z',
  );
  ledger.run(
    makeClaim(
      third,
      zirconiumInput({
        actor: { name: 'zirconium' },
        attribution: { state: 'BY', relation: 'affiliated-with' },
      }),
    ),
    '2021-03-03T00:00:00Z',
  );
  ledger.run(denyClaim(second), '2021-03-04T00:00:00Z');
  ledger.run(denyClaim(second, { denier: kremlin }), '2021-03-04T00:00:01Z');
  ledger.run(denyClaim(second, { statedAt: '2021-04-01T00:00:00Z' }), '2021-04-01T00:00:00Z');
  ledger.run(
    confirmClaim(first, { confirmer: un, statedAt: '2021-03-02T00:00:00Z' }),
    '2021-03-05T00:00:00Z',
  );
  ledger.run(confirmClaim(third, { statedAt: '2021-03-02T00:00:00Z' }), '2021-03-05T00:00:00Z');
  ledger.run(retractClaim(third, { statedAt: '2021-05-01T00:00:00Z' }), '2021-05-01T00:00:00Z');

  const summary = summarizeActor(ledger.events.toReversed());
  t.same(summary, {
    actorId: 'zirconium',
    name: 'ZIRCONIUM',
    aliases: ['Judgment Panda', 'APT31', 'Violet Typhoon'],
    status: 'contested',
    attributions: [
      {
        state: 'BY',
        status: 'retracted',
        claims: 1,
        activeClaims: 0,
        denials: 0,
        confirmations: 1,
        claimants: ['microsoft'],
        deniers: [],
        confirmers: ['us-dhs'],
        firstStatedAt: '2020-09-10T16:00:00Z',
        lastStatedAt: '2021-05-01T00:00:00Z',
      },
      {
        state: 'CN',
        status: 'contested',
        claims: 2,
        activeClaims: 2,
        denials: 3,
        confirmations: 1,
        claimants: ['mandiant', 'microsoft'],
        deniers: ['cn-mfa', 'ru-kremlin'],
        confirmers: ['un'],
        firstStatedAt: '2020-06-01T00:00:00+02:00',
        lastStatedAt: '2021-04-01T00:00:00Z',
      },
    ],
    position: 73n,
    lastStatedAt: '2021-05-01T00:00:00Z',
  });

  t.test('the most recent claim names the actor, ties broken by position', async (t) => {
    const tied = new TestLedger();
    tied.run(makeClaim(first, zirconiumInput({ actor: { name: 'Zirconium' } })), '2021-01-01T00:00:00Z');
    tied.run(makeClaim(second, zirconiumInput({ actor: { name: 'ZIRCONIUM' } })), '2021-01-01T00:00:00Z');
    t.equal(summarizeActor(tied.events.toReversed())?.name, 'ZIRCONIUM');
  });

  t.test('events of several actors are a mistake', async (t) => {
    const mixed = september2020().events;
    t.throws(() => summarizeActor(mixed), RangeError);
  });

  t.test('no events, no actor', async (t) => {
    t.equal(summarizeActor([]), undefined);
  });
});

t.test('foldClaims', async (t) => {
  const { events } = september2020();

  t.test('groups events by claim, in position order, whatever the input order', async (t) => {
    const claims = foldClaims(events.toReversed());
    t.same(
      claims.map((claim) => claim.claimId),
      [claimIds.zirconium, claimIds.strontium, claimIds.phosphorus],
    );
    t.same(claims.map(claimFactsOf), [facts(false, 1, 1), facts(false, 1, 1), facts(false, 0, 1)]);
  });

  t.test('ignores events whose claim is not folded', async (t) => {
    const orphans = events.filter((event) => event.type !== 'ClaimMade');
    t.same(foldClaims(orphans), []);
    const retraction = new TestLedger();
    retraction.run(makeClaim(claimIds.zirconium), '2020-09-10T16:05:00Z');
    const [retracted] = retraction.run(retractClaim(claimIds.zirconium), '2020-10-01T00:00:00Z');
    t.same(foldClaims([retracted!]), []);
  });

  t.test('keeps the first ClaimMade and the first retraction of a claim', async (t) => {
    const ledger = new TestLedger();
    const [made] = ledger.run(makeClaim(claimIds.zirconium), '2020-09-10T16:05:00Z');
    const [retraction] = ledger.run(retractClaim(claimIds.zirconium), '2020-10-01T00:00:00Z');
    const again = (event: RecordedClaimEvent, position: bigint) =>
      ({ ...event, position }) as RecordedClaimEvent;
    const [claim] = foldClaims([made!, retraction!, again(made!, 100n), again(retraction!, 101n)]);
    t.equal(claim?.made, made);
    t.equal(claim?.retraction, retraction);
    t.same(foldClaims([made!, retraction!]).map(claimFactsOf), [facts(true, 0, 0)]);
  });

  t.test('ignores events of unknown types', async (t) => {
    const foreign = {
      type: 'ActorEquivalenceClaimed',
      data: {},
      metadata: { recordedAt: '2020-09-10T16:05:00Z' },
      position: 1n,
    } as unknown as RecordedClaimEvent;
    t.same(foldClaims([foreign, ...events]).length, 3);
  });

  t.test('cuts off by statedAt and by recordedAt, comparing instants', async (t) => {
    // The MFA spoke at 07:00Z on 11 September (15:00+08:00): a string comparison would get it wrong.
    const asOf = foldClaims(events, { asOf: '2020-09-11T06:59:59Z' });
    t.same(asOf.map(claimFactsOf), [facts(false, 0, 1), facts(false, 0, 1), facts(false, 0, 1)]);
    const both = foldClaims(events, { asOf: '2020-09-11T12:00:00Z', knownAt: '2020-09-11T08:00:00Z' });
    t.same(both.map(claimFactsOf), [facts(false, 1, 1), facts(false, 0, 1), facts(false, 0, 1)]);
    t.same(
      foldClaims(events, { knownAt: '2020-09-10T16:06:00Z' }).length,
      2,
      'recordedAt equal to knownAt is in',
    );
  });
});

t.test('disputeEntries', async (t) => {
  t.test('lists a retraction with the claimant as party, and sources when given', async (t) => {
    const ledger = new TestLedger();
    ledger.run(makeClaim(claimIds.zirconium), '2020-09-10T16:05:00Z');
    const source = { url: 'https://www.fmprc.gov.cn/' };
    ledger.run(denyClaim(claimIds.zirconium, { source }), '2020-09-11T07:30:00Z');
    ledger.run(
      retractClaim(claimIds.zirconium, { reason: 'Withdrawn.', statedAt: '2020-09-11T07:00:00Z' }),
      '2020-09-12T00:00:00Z',
    );
    const entries = disputeEntries(ledger.events);
    t.match(entries, [
      { kind: 'claim', party: { id: 'microsoft' } },
      { kind: 'denial', source, position: 24n },
      { kind: 'retraction', party: microsoft, text: 'Withdrawn.', position: 31n },
    ]);
    t.notOk('source' in entries[2]!, 'a retraction has no source');
  });

  t.test('orders entries stated at the same instant by position', async (t) => {
    const ledger = new TestLedger();
    ledger.run(makeClaim(claimIds.zirconium), '2020-09-10T16:05:00Z');
    ledger.run(
      denyClaim(claimIds.zirconium, { statedAt: '2020-09-10T18:00:00+02:00' }),
      '2020-09-10T16:06:00Z',
    );
    ledger.run(
      confirmClaim(claimIds.zirconium, { statedAt: '2020-09-10T16:00:00Z' }),
      '2020-09-10T16:07:00Z',
    );
    t.same(
      disputeEntries(ledger.events.toReversed()).map((entry) => entry.kind),
      ['claim', 'denial', 'confirmation'],
    );
  });

  t.test('honours the cut-off', async (t) => {
    const { events } = september2020();
    t.same(disputeEntries(events, { knownAt: '2020-09-10T16:05:00Z' }).length, 1);
    t.same(disputeEntries(events, { asOf: '2020-01-01T00:00:00Z' }), []);
  });
});

t.test('Cutoff validates query parameters', async (t) => {
  t.ok(Cutoff.safeParse({}).success);
  t.ok(Cutoff.safeParse({ asOf: '2020-09-11T00:00:00Z', knownAt: '2020-09-12T00:00:00+02:00' }).success);
  t.notOk(Cutoff.safeParse({ asOf: '2020-09-11' }).success);
  t.notOk(Cutoff.safeParse({ before: '2020-09-11T00:00:00Z' }).success);
});
