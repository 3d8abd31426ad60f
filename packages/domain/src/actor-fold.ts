/**
 * The incremental form of `summarizeActor` (no cut-off): an actor's running tallies, folded one event at a
 * time in position order, so that a projector applies only the new events of a batch instead of re-reading
 * an actor's whole history. `actorSummaryOf(fold)` equals `summarizeActor(events)` for the same events (the
 * property tests hold the two to that); the cut-off queries (`asOf`, `knownAt`) still fold from events.
 *
 * Everything here is plain JSON (positions as decimal strings), so a projector can store it in a row.
 */
import type {
  ActorSummary,
  AttributionStatus,
  AttributionSummary,
  RecordedClaimEvent,
} from './status-rules.js';
import type { StateCode } from './values.js';
import { compareInstants } from './values.js';

/** What the actor fold keeps of one claim: whose it is and what the status rule needs of it. */
export interface ClaimTally {
  readonly claimId: string;
  readonly actorId: string;
  readonly state: StateCode;
  readonly retracted: boolean;
  readonly denials: number;
  readonly confirmations: number;
}

/** One attribution's running counts. `activeDenied`/`activeConfirmed`: active claims with a denial/confirmation. */
export interface StateTally {
  readonly claims: number;
  readonly activeClaims: number;
  readonly activeDenied: number;
  readonly activeConfirmed: number;
  readonly denials: number;
  readonly confirmations: number;
  readonly claimants: readonly string[];
  readonly deniers: readonly string[];
  readonly confirmers: readonly string[];
  readonly firstStatedAt: string;
  readonly lastStatedAt: string;
}

/** An actor's running tallies: everything `summarizeActor` reports, without the events. */
export interface ActorFold {
  readonly actorId: string;
  /** The name of the latest claim (latest `statedAt`, then highest position) and when it was stated. */
  readonly name: string;
  readonly nameStatedAt: string;
  readonly aliases: readonly string[];
  readonly states: Readonly<Partial<Record<StateCode, StateTally>>>;
  /** The highest folded position, as a decimal string. */
  readonly position: string;
  readonly lastStatedAt: string;
}

/** The fold and the claim after one event. */
export interface ActorFoldStep {
  readonly fold: ActorFold;
  readonly claim: ClaimTally;
}

// Ties between equal instants go to the later position: events arrive in position order, so "at or after".
const isLatest = (statedAt: string, current: string): boolean => compareInstants(statedAt, current) >= 0;
const isEarliest = (statedAt: string, current: string): boolean => compareInstants(statedAt, current) < 0;

const withParty = (parties: readonly string[], id: string): readonly string[] =>
  parties.includes(id) ? parties : [...parties, id].sort();

function statusOfTally(tally: {
  readonly claims: number;
  readonly activeClaims: number;
  readonly activeDenied: number;
  readonly activeConfirmed: number;
}): AttributionStatus {
  if (tally.activeClaims === 0) return 'retracted';
  if (tally.activeDenied > 0) return tally.activeConfirmed > 0 ? 'contested' : 'disputed';
  return tally.activeConfirmed > 0 ? 'confirmed' : 'alleged';
}

function touchState(tally: StateTally, statedAt: string): StateTally {
  return {
    ...tally,
    firstStatedAt: isEarliest(statedAt, tally.firstStatedAt) ? statedAt : tally.firstStatedAt,
    lastStatedAt: isLatest(statedAt, tally.lastStatedAt) ? statedAt : tally.lastStatedAt,
  };
}

function withState(
  fold: ActorFold,
  state: StateCode,
  tally: StateTally,
  event: RecordedClaimEvent,
): ActorFold {
  const { statedAt } = event.data;
  return {
    ...fold,
    states: { ...fold.states, [state]: touchState(tally, statedAt) },
    position: event.position.toString(),
    lastStatedAt: isLatest(statedAt, fold.lastStatedAt) ? statedAt : fold.lastStatedAt,
  };
}

function made(fold: ActorFold | undefined, event: RecordedClaimEvent<'ClaimMade'>): ActorFoldStep {
  const { claimId, actor, attribution, claimant, statedAt } = event.data;
  const claim: ClaimTally = {
    claimId,
    actorId: actor.id,
    state: attribution.state,
    retracted: false,
    denials: 0,
    confirmations: 0,
  };
  const base: ActorFold = fold ?? {
    actorId: actor.id,
    name: actor.name,
    nameStatedAt: statedAt,
    aliases: [],
    states: {},
    position: event.position.toString(),
    lastStatedAt: statedAt,
  };
  const aliases = [...base.aliases];
  for (const alias of actor.aliases) {
    const key = alias.toLowerCase();
    if (!aliases.some((known) => known.toLowerCase() === key)) aliases.push(alias);
  }
  const tally = base.states[attribution.state] ?? {
    claims: 0,
    activeClaims: 0,
    activeDenied: 0,
    activeConfirmed: 0,
    denials: 0,
    confirmations: 0,
    claimants: [],
    deniers: [],
    confirmers: [],
    firstStatedAt: statedAt,
    lastStatedAt: statedAt,
  };
  const renamed = isLatest(statedAt, base.nameStatedAt);
  const next = withState(
    {
      ...base,
      name: renamed ? actor.name : base.name,
      nameStatedAt: renamed ? statedAt : base.nameStatedAt,
      aliases,
    },
    attribution.state,
    {
      ...tally,
      claims: tally.claims + 1,
      activeClaims: tally.activeClaims + 1,
      claimants: withParty(tally.claimants, claimant.id),
    },
    event,
  );
  return { fold: next, claim };
}

/** Where a denial or a confirmation counts: the claim's counter, the attribution's counters and party list. */
const RESPONSES = {
  denial: { count: 'denials', active: 'activeDenied', parties: 'deniers' },
  confirmation: { count: 'confirmations', active: 'activeConfirmed', parties: 'confirmers' },
} as const;

type Response = (typeof RESPONSES)[keyof typeof RESPONSES];

/**
 * A denial or a confirmation: counted for the claim and its attribution (retracted claims included), and
 * towards the status only when it is the first of its kind on an active claim.
 */
function respond(
  fold: ActorFold,
  claim: ClaimTally,
  tally: StateTally,
  { count, active, parties }: Response,
  partyId: string,
  event: RecordedClaimEvent,
): ActorFoldStep {
  const first = !claim.retracted && claim[count] === 0;
  const next: StateTally = {
    ...tally,
    [count]: tally[count] + 1,
    [active]: tally[active] + (first ? 1 : 0),
    [parties]: withParty(tally[parties], partyId),
  };
  return {
    claim: { ...claim, [count]: claim[count] + 1 },
    fold: withState(fold, claim.state, next, event),
  };
}

/**
 * Folds one event into its actor's tallies. Pure. `fold` is the actor's fold so far (`undefined` before its
 * first claim); `claim` is the tally of the event's claim (`undefined` when no `ClaimMade` was folded for it).
 * Events must come in position order.
 *
 * Returns `undefined` for an event `summarizeActor` would leave out: a second `ClaimMade` of a claim, an event
 * of a claim without a folded `ClaimMade`, a second retraction, or an unknown type. For any event but a
 * `ClaimMade`, `fold` must be the fold of `claim.actorId`.
 *
 * @example
 * ```ts
 * let fold: ActorFold | undefined;
 * const claims = new Map<string, ClaimTally>();
 * for (const event of events) {
 *   const step = evolveActorFold(fold, claims.get(event.data.claimId), event);
 *   if (step !== undefined) ({ fold } = step), claims.set(step.claim.claimId, step.claim);
 * }
 * actorSummaryOf(fold!); // deep-equals summarizeActor(events)
 * ```
 */
export function evolveActorFold(
  fold: ActorFold | undefined,
  claim: ClaimTally | undefined,
  event: RecordedClaimEvent,
): ActorFoldStep | undefined {
  if (event.type === 'ClaimMade') return claim === undefined ? made(fold, event) : undefined;
  if (claim === undefined || fold === undefined) return undefined;
  const tally = fold.states[claim.state]!;
  switch (event.type) {
    case 'ClaimDenied':
      return respond(fold, claim, tally, RESPONSES.denial, event.data.denier.id, event);
    case 'ClaimConfirmed':
      return respond(fold, claim, tally, RESPONSES.confirmation, event.data.confirmer.id, event);
    case 'ClaimRetracted': {
      if (claim.retracted) return undefined;
      return {
        claim: { ...claim, retracted: true },
        fold: withState(
          fold,
          claim.state,
          {
            ...tally,
            activeClaims: tally.activeClaims - 1,
            activeDenied: tally.activeDenied - (claim.denials > 0 ? 1 : 0),
            activeConfirmed: tally.activeConfirmed - (claim.confirmations > 0 ? 1 : 0),
          },
          event,
        ),
      };
    }
    default:
      return undefined;
  }
}

/**
 * The actor's summary from its fold: the same value `summarizeActor` computes from the folded events. Pure.
 *
 * @example
 * ```ts
 * actorSummaryOf(fold).status; // 'contested'
 * ```
 */
export function actorSummaryOf(fold: ActorFold): ActorSummary {
  const states = (Object.keys(fold.states) as StateCode[]).sort();
  const attributions = states.map((state): AttributionSummary => {
    const tally = fold.states[state]!;
    return {
      state,
      status: statusOfTally(tally),
      claims: tally.claims,
      activeClaims: tally.activeClaims,
      denials: tally.denials,
      confirmations: tally.confirmations,
      claimants: [...tally.claimants],
      deniers: [...tally.deniers],
      confirmers: [...tally.confirmers],
      firstStatedAt: tally.firstStatedAt,
      lastStatedAt: tally.lastStatedAt,
    };
  });
  const total = (key: 'claims' | 'activeClaims' | 'activeDenied' | 'activeConfirmed'): number =>
    states.reduce((sum, state) => sum + fold.states[state]![key], 0);
  return {
    actorId: fold.actorId,
    name: fold.name,
    aliases: [...fold.aliases],
    status: statusOfTally({
      claims: total('claims'),
      activeClaims: total('activeClaims'),
      activeDenied: total('activeDenied'),
      activeConfirmed: total('activeConfirmed'),
    }),
    attributions,
    position: BigInt(fold.position),
    lastStatedAt: fold.lastStatedAt,
  };
}
