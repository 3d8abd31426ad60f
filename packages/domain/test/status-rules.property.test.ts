import { deepStrictEqual } from 'node:assert/strict';
import type {
  AttributionStatus,
  ClaimCommand,
  ClaimFacts,
  ClaimState,
  OfficialParty,
  Party,
  RecordedClaimEvent,
  StateCode,
} from '@ledger/domain';
import {
  type ActorFold,
  actorIdOf,
  actorSummaryOf,
  type ClaimTally,
  claimDecider,
  claimFactsOf,
  compareInstants,
  disputeEntries,
  evolveActorFold,
  foldClaims,
  isLedgerError,
  statusOf,
  summarizeActor,
} from '@ledger/domain';
import fc from 'fast-check';
import t from 'tap';
import { cnMfa, kremlin, microsoft, reuters, TestLedger, un, usDhs } from './fixtures/claims.fixtures.js';

// Bounded so that the whole file runs in a few seconds.
const runs = { numRuns: 150 };

const MINUTE = 60_000;
const BASE = Date.parse('2020-09-10T00:00:00Z');

/** Renders an instant in a zone given in minutes east of UTC (`Z` for 0), with optional milliseconds. */
function formatInstant(ms: number, zone: number, withMillis = false): string {
  const local = new Date(ms + zone * MINUTE).toISOString();
  const wall = withMillis ? local.slice(0, 23) : local.slice(0, 19);
  if (zone === 0) return `${wall}Z`;
  const abs = Math.abs(zone);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${wall}${zone < 0 ? '-' : '+'}${hh}:${mm}`;
}

const zone = fc.constantFrom(0, 120, -240, 480, 330, 345, -570);
const claimants: readonly Party[] = [
  microsoft,
  { id: 'mandiant', name: 'Mandiant', kind: 'vendor' },
  reuters,
];
const deniers: readonly Party[] = [cnMfa, kremlin, { id: 'ir-mfa', name: 'Iran MFA', kind: 'government' }];
const confirmers: readonly OfficialParty[] = [usDhs, un, { id: 'uk-ncsc', name: 'NCSC', kind: 'government' }];
const states: readonly StateCode[] = ['CN', 'RU', 'IR', 'KP'];
// Spellings of one actor: they all slug to `volt-typhoon`.
const names = ['Volt Typhoon', 'VOLT TYPHOON', 'volt typhoon', 'Volt_Typhoon'];

const step = fc.record({
  kind: fc.constantFrom('deny', 'confirm'),
  party: fc.nat(2),
  delay: fc.nat(2_000),
  zone,
});
const claimPlan = fc.record({
  claimant: fc.constantFrom(...claimants),
  state: fc.constantFrom(...states),
  name: fc.constantFrom(...names),
  aliases: fc.subarray(['Bronze Silhouette', 'BRONZE SILHOUETTE', 'Vanguard Panda', 'DEV-0391']),
  at: fc.nat(5_000),
  zone,
  steps: fc.array(step, { maxLength: 4 }),
  retraction: fc.option(fc.record({ delay: fc.nat(2_000), zone }), { nil: undefined }),
});
type ClaimPlan = typeof claimPlan extends fc.Arbitrary<infer P> ? P : never;

const claimIdOf = (index: number) => `0174776e-8a00-7000-8000-${String(index).padStart(12, '0')}`;

function commandsOf(plan: ClaimPlan, index: number): ClaimCommand[] {
  const claimId = claimIdOf(index);
  const statedAt = BASE + plan.at * MINUTE;
  const commands: ClaimCommand[] = [
    {
      type: 'MakeClaim',
      data: {
        claimId,
        claimant: plan.claimant,
        actor: { name: plan.name, aliases: plan.aliases },
        attribution: { state: plan.state, relation: 'operating-from' },
        targets: [],
        summary: `Claim ${index}`,
        source: { url: `https://example.org/claims/${index}` },
        statedAt: formatInstant(statedAt, plan.zone),
      },
    },
  ];
  for (const { kind, party, delay, zone } of plan.steps) {
    const at = formatInstant(statedAt + delay * MINUTE, zone);
    commands.push(
      kind === 'deny'
        ? { type: 'DenyClaim', data: { claimId, denier: deniers[party]!, statement: 'No.', statedAt: at } }
        : {
            type: 'ConfirmClaim',
            data: { claimId, confirmer: confirmers[party]!, statement: 'Yes.', statedAt: at },
          },
    );
  }
  if (plan.retraction !== undefined) {
    const at = formatInstant(statedAt + plan.retraction.delay * MINUTE, plan.retraction.zone);
    commands.push({
      type: 'RetractClaim',
      data: { claimId, by: plan.claimant.id, reason: 'Withdrawn.', statedAt: at },
    });
  }
  return commands;
}

/**
 * Runs the plans through the real decider in a random interleaving of the claims' streams (each stream
 * keeps its own order), with random gaps between positions.
 */
function record(
  plans: readonly ClaimPlan[],
  keys: readonly number[],
  gaps: readonly number[],
): RecordedClaimEvent[] {
  let k = 0;
  const scheduled = plans.flatMap((plan, index) => {
    const commands = commandsOf(plan, index);
    const mine = keys.slice(k, k + commands.length).toSorted((a, b) => a - b);
    k += commands.length;
    return commands.map((command, order) => ({ command, key: mine[order]!, index, order }));
  });
  scheduled.sort((a, b) => a.key - b.key || a.index - b.index || a.order - b.order);
  const ledger = new TestLedger();
  scheduled.forEach(({ command }, i) => {
    ledger.run(command, formatInstant(BASE + (10_000 + i) * MINUTE, 0), BigInt(gaps[i]!));
  });
  return ledger.events;
}

const commandCount = (plans: readonly ClaimPlan[]) =>
  plans.reduce((sum, plan) => sum + 1 + plan.steps.length + (plan.retraction === undefined ? 0 : 1), 0);

const ledgerOf = (plans: fc.Arbitrary<ClaimPlan[]>) =>
  plans.chain((list) => {
    const n = commandCount(list);
    return fc
      .tuple(
        fc.array(fc.nat(1_000), { minLength: n, maxLength: n }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: n, maxLength: n }),
      )
      .map(([keys, gaps]) => ({ plans: list, events: record(list, keys, gaps) }));
  });

const ledger = ledgerOf(fc.array(claimPlan, { minLength: 1, maxLength: 5 }));

const withShuffle = ledger.chain((generated) =>
  fc
    .shuffledSubarray(generated.events, {
      minLength: generated.events.length,
      maxLength: generated.events.length,
    })
    .map((shuffled) => ({ ...generated, shuffled })),
);

const facts = fc.record({ retracted: fc.boolean(), denials: fc.nat(3), confirmations: fc.nat(3) });
const someFacts = fc.array(facts, { minLength: 1, maxLength: 6 });

const highest = (positions: readonly bigint[]) => positions.toSorted((a, b) => Number(a - b)).at(-1);

const FAR_FUTURE = '9999-12-31T23:59:59.999Z';

t.test('the input order of events does not change anything', async (t) => {
  fc.assert(
    fc.property(withShuffle, ({ events, shuffled }) => {
      deepStrictEqual(summarizeActor(shuffled), summarizeActor(events));
      deepStrictEqual(disputeEntries(shuffled), disputeEntries(events));
    }),
    runs,
  );
  t.pass('order-independent');
});

t.test('the order of claims does not change statusOf', async (t) => {
  fc.assert(
    fc.property(
      someFacts.chain((list) =>
        fc.tuple(
          fc.constant(list),
          fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }),
        ),
      ),
      ([list, shuffled]) => statusOf(list) === statusOf(shuffled),
    ),
    runs,
  );
  t.pass('order-independent');
});

t.test('retracting every claim gives retracted, for the actor and every attribution', async (t) => {
  const allRetracted = ledgerOf(
    fc.array(
      claimPlan.map((plan) => ({ ...plan, retraction: plan.retraction ?? { delay: 3_000, zone: 0 } })),
      { minLength: 1, maxLength: 5 },
    ),
  );
  fc.assert(
    fc.property(allRetracted, ({ events }) => {
      const summary = summarizeActor(events);
      return summary?.status === 'retracted' && summary.attributions.every((a) => a.status === 'retracted');
    }),
    runs,
  );
  t.pass('retracted');
});

t.test('a denial of an active claim', async (t) => {
  t.test('never turns contested into confirmed, and never leaves confirmed confirmed (facts)', async (t) => {
    fc.assert(
      fc.property(someFacts, fc.nat(), (list, pick) => {
        const active = list.flatMap((f, i) => (f.retracted ? [] : [i]));
        fc.pre(active.length > 0);
        const target = active[pick % active.length]!;
        const before = statusOf(list);
        const after = statusOf(
          list.map((f, i): ClaimFacts => (i === target ? { ...f, denials: f.denials + 1 } : f)),
        );
        if (before === 'contested' || before === 'confirmed') return after === 'contested';
        return after === 'disputed' || after === 'contested';
      }),
      runs,
    );
    t.pass('denials only add dispute');
  });

  t.test('moves a ledger from confirmed to contested, alleged to disputed', async (t) => {
    fc.assert(
      fc.property(ledger, fc.nat(), fc.nat(2), ({ plans, events }, pick, party) => {
        const active = plans.flatMap((plan, i) => (plan.retraction === undefined ? [i] : []));
        fc.pre(active.length > 0);
        const before = summarizeActor(events)!.status;
        const next = TestLedger.from(events);
        next.run(
          {
            type: 'DenyClaim',
            data: {
              claimId: claimIdOf(active[pick % active.length]!),
              denier: deniers[party]!,
              statement: 'No.',
              statedAt: formatInstant(BASE + 9_000 * MINUTE, 0),
            },
          },
          formatInstant(BASE + 20_000 * MINUTE, 0),
        );
        const after = summarizeActor(next.events)!.status;
        const expected: Record<AttributionStatus, AttributionStatus> = {
          alleged: 'disputed',
          disputed: 'disputed',
          confirmed: 'contested',
          contested: 'contested',
          retracted: 'retracted',
        };
        return after === expected[before];
      }),
      runs,
    );
    t.pass('as the table says');
  });
});

t.test('a confirmation never yields alleged or disputed unless the claim is retracted', async (t) => {
  fc.assert(
    fc.property(someFacts, fc.nat(), (list, pick) => {
      const target = pick % list.length;
      const after = statusOf(
        list.map((f, i) => (i === target ? { ...f, confirmations: f.confirmations + 1 } : f)),
      );
      if (list[target]!.retracted) return after === statusOf(list);
      return after === 'confirmed' || after === 'contested';
    }),
    runs,
  );
  t.pass('confirmations only add confirmation');
});

t.test('cut-offs in the far future are the same as none', async (t) => {
  fc.assert(
    fc.property(ledger, ({ events }) => {
      const none = summarizeActor(events);
      deepStrictEqual(summarizeActor(events, { asOf: FAR_FUTURE }), none);
      deepStrictEqual(summarizeActor(events, { knownAt: FAR_FUTURE }), none);
      deepStrictEqual(
        summarizeActor(events, { asOf: FAR_FUTURE, knownAt: '9999-12-31T23:59:59+14:00' }),
        none,
      );
      deepStrictEqual(
        disputeEntries(events, { asOf: FAR_FUTURE, knownAt: FAR_FUTURE }),
        disputeEntries(events),
      );
    }),
    runs,
  );
  t.pass('no cut-off');
});

t.test('a cut-off keeps exactly the events inside it, from claims inside it', async (t) => {
  fc.assert(
    fc.property(ledger, fc.nat(8_000), fc.nat(30), zone, ({ events }, asOfMinute, knownIndex, z) => {
      const asOf = formatInstant(BASE + asOfMinute * MINUTE, z);
      const knownAt = formatInstant(BASE + (10_000 + knownIndex) * MINUTE, 0);
      const entries = disputeEntries(events, { asOf, knownAt });
      const claimsInside = new Set(entries.filter((e) => e.kind === 'claim').map((e) => e.claimId));
      const expected = disputeEntries(events).filter(
        (e) =>
          compareInstants(e.statedAt, asOf) <= 0 &&
          compareInstants(e.recordedAt, knownAt) <= 0 &&
          claimsInside.has(e.claimId),
      );
      deepStrictEqual(entries, expected);
      const summary = summarizeActor(events, { asOf, knownAt });
      return claimsInside.size === 0
        ? summary === undefined
        : summary?.position === highest(entries.map((e) => e.position));
    }),
    runs,
  );
  t.pass('exact cut-off');
});

t.test("an actor's status is the rule over the union of its attributions' claims", async (t) => {
  fc.assert(
    fc.property(ledger, ({ events }) => {
      const summary = summarizeActor(events)!;
      const all = foldClaims(events).map(claimFactsOf);
      const statuses = summary.attributions.map((a) => a.status);
      const denied = statuses.some((s) => s === 'disputed' || s === 'contested');
      const confirmed = statuses.some((s) => s === 'confirmed' || s === 'contested');
      const composed = statuses.every((s) => s === 'retracted')
        ? 'retracted'
        : denied
          ? confirmed
            ? 'contested'
            : 'disputed'
          : confirmed
            ? 'confirmed'
            : 'alleged';
      const counted = summary.attributions.reduce((sum, a) => sum + a.claims, 0);
      return summary.status === statusOf(all) && summary.status === composed && counted === all.length;
    }),
    runs,
  );
  t.pass('composes');
});

t.test('summaries are well-formed', async (t) => {
  fc.assert(
    fc.property(ledger, ({ events }) => {
      const summary = summarizeActor(events)!;
      const sorted = (list: readonly string[]) => list.every((v, i) => i === 0 || list[i - 1]! < v);
      const lowerAliases = summary.aliases.map((a) => a.toLowerCase());
      return (
        summary.actorId === 'volt-typhoon' &&
        sorted(summary.attributions.map((a) => a.state)) &&
        summary.attributions.every(
          (a) =>
            sorted(a.claimants) &&
            sorted(a.deniers) &&
            sorted(a.confirmers) &&
            a.activeClaims <= a.claims &&
            compareInstants(a.firstStatedAt, a.lastStatedAt) <= 0 &&
            compareInstants(a.lastStatedAt, summary.lastStatedAt) <= 0,
        ) &&
        new Set(lowerAliases).size === lowerAliases.length &&
        summary.position === highest(events.map((e) => e.position))
      );
    }),
    runs,
  );
  t.pass('well-formed');
});

t.test('decide refuses with ledger errors only, and accepts with exactly one event', async (t) => {
  const party = fc.constantFrom<Party>(...claimants, ...deniers, ...confirmers);
  const instant = fc.tuple(fc.nat(3_000), zone).map(([m, z]) => formatInstant(BASE + m * MINUTE, z));
  const claimId = claimIdOf(1);
  const command: fc.Arbitrary<ClaimCommand> = fc.oneof(
    fc.record({ party, instant }).map(({ party, instant }) => ({
      type: 'MakeClaim' as const,
      data: {
        claimId,
        claimant: party,
        actor: { name: 'Volt Typhoon' },
        attribution: { state: 'CN' as const, relation: 'operating-from' as const },
        targets: [],
        summary: 'Claim.',
        source: { url: 'https://example.org' },
        statedAt: instant,
      },
    })),
    fc.record({ party, instant }).map(({ party, instant }) => ({
      type: 'DenyClaim' as const,
      data: { claimId, denier: party, statement: 'No.', statedAt: instant },
    })),
    fc.record({ party, instant }).map(({ party, instant }) => ({
      type: 'ConfirmClaim' as const,
      data: { claimId, confirmer: party, statement: 'Yes.', statedAt: instant },
    })),
    fc.record({ party, instant }).map(({ party, instant }) => ({
      type: 'RetractClaim' as const,
      data: { claimId, by: party.id, reason: 'Withdrawn.', statedAt: instant },
    })),
  );
  fc.assert(
    fc.property(fc.array(command, { maxLength: 12 }), (commands) => {
      let state: ClaimState = claimDecider.initialState();
      for (const next of commands) {
        try {
          const events = claimDecider.decide(next, state);
          if (events.length !== 1) return false;
          state = events.reduce(claimDecider.evolve, state);
        } catch (error) {
          if (!isLedgerError(error)) return false;
        }
      }
      return true;
    }),
    runs,
  );
  t.pass('total');
});

t.test('actorIdOf is idempotent and yields slugs', async (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (name) => {
      const id = actorIdOf(name);
      return actorIdOf(id) === id && !id.startsWith('-') && !id.endsWith('-') && !id.includes('--');
    }),
    { numRuns: 300 },
  );
  t.pass('slugs');
});

t.test('compareInstants agrees with the instants, whatever the zones', async (t) => {
  const ms = fc.integer({ min: BASE - 10 * 365 * 24 * 60 * MINUTE, max: BASE + 10 * 365 * 24 * 60 * MINUTE });
  fc.assert(
    fc.property(ms, zone, ms, zone, (a, za, b, zb) => {
      const x = formatInstant(a, za, true);
      const y = formatInstant(b, zb, true);
      return compareInstants(x, y) === Math.sign(a - b) && compareInstants(y, x) === Math.sign(b - a);
    }),
    { numRuns: 300 },
  );
  t.pass('agrees');
});

/**
 * Folds `events` one at a time, in position order, the way the actors projection does across batches: the
 * fold and the claim tallies go through JSON between events, as they do through read.db rows.
 */
function foldIncrementally(events: readonly RecordedClaimEvent[]) {
  let fold: ActorFold | undefined;
  const claims = new Map<string, ClaimTally>();
  for (const event of events.toSorted((a, b) => Number(a.position - b.position))) {
    const step = evolveActorFold(fold, claims.get(event.data.claimId), event);
    if (step === undefined) continue;
    fold = JSON.parse(JSON.stringify(step.fold)) as ActorFold;
    claims.set(step.claim.claimId, JSON.parse(JSON.stringify(step.claim)) as ClaimTally);
  }
  return fold === undefined ? undefined : actorSummaryOf(fold);
}

t.test('the incremental actor fold gives the same summary as summarizeActor', async (t) => {
  fc.assert(
    fc.property(ledger, ({ events }) => {
      deepStrictEqual(foldIncrementally(events), summarizeActor(events));
    }),
    runs,
  );
  t.pass('same summary');
});

t.test('the incremental fold leaves out what summarizeActor leaves out', async (t) => {
  // Events the decider never writes, appended after a valid ledger: a second ClaimMade of a claim (naming
  // another state), a second retraction, events of an unknown claim, events before their claim's ClaimMade,
  // events of an unknown type, and denials and confirmations of a retracted claim (which count, but not
  // towards the status).
  const anomaly = fc.record({
    kind: fc.constantFrom('remake', 'retract', 'orphan', 'deny', 'confirm', 'early', 'unknown'),
    // Orphans of every type, and early events (before any ClaimMade) of a claim made later.
    type: fc.constantFrom('ClaimDenied', 'ClaimConfirmed', 'ClaimRetracted'),
    claim: fc.nat(),
    state: fc.constantFrom(...states),
    party: fc.nat(2),
    at: fc.nat(8_000),
    zone,
  });
  fc.assert(
    fc.property(ledger, fc.array(anomaly, { maxLength: 6 }), ({ plans, events }, anomalies) => {
      const all = [...events];
      let position = highest(events.map((e) => e.position))!;
      let early = 0n;
      for (const { kind, type, claim, state, party, at, zone } of anomalies) {
        position += 3n;
        const claimId = kind === 'orphan' ? claimIdOf(900) : claimIdOf(claim % plans.length);
        const statedAt = formatInstant(BASE + at * MINUTE, zone);
        const metadata = { recordedAt: formatInstant(BASE + 30_000 * MINUTE, 0), principal: 'key-1' };
        const made = events.find(
          (e): e is RecordedClaimEvent<'ClaimMade'> => e.type === 'ClaimMade' && e.data.claimId === claimId,
        );
        const kindOf = kind === 'orphan' || kind === 'early' ? type : kind;
        if (kind === 'unknown') {
          all.push({ type: 'ClaimAmended', data: { claimId, statedAt }, metadata, position } as never);
          continue;
        }
        const data =
          kind === 'remake' && made !== undefined
            ? { type: 'ClaimMade', data: { ...made.data, attribution: { ...made.data.attribution, state } } }
            : kindOf === 'retract' || kindOf === 'ClaimRetracted'
              ? { type: 'ClaimRetracted', data: { claimId, by: 'microsoft', reason: 'Again.', statedAt } }
              : kindOf === 'confirm' || kindOf === 'ClaimConfirmed'
                ? {
                    type: 'ClaimConfirmed',
                    data: { claimId, confirmer: confirmers[party]!, statement: 'Yes.', statedAt },
                  }
                : {
                    type: 'ClaimDenied',
                    data: { claimId, denier: deniers[party]!, statement: 'No.', statedAt },
                  };
        // The generated ledger starts at position 10 or later: early events go below it.
        if (kind === 'early') early += 1n;
        all.push({ ...data, metadata, position: kind === 'early' ? early : position } as RecordedClaimEvent);
      }
      deepStrictEqual(foldIncrementally(all), summarizeActor(all));
    }),
    runs,
  );
  t.pass('same summary with anomalies');
});
