/**
 * Status rules (DESIGN §4) and the read-side folds built on them: the status of a set of claims, an actor's
 * summary and its dispute history, each rebuilt from events only so that any past moment can be queried.
 */
import { z } from 'zod';
import type { ClaimEventOf, ClaimEventType } from './events.js';
import type { Party, Source, StateCode } from './values.js';
import { compareInstants, DateTime } from './values.js';

/** The status of a set of claims. */
export const AttributionStatus = z.enum(['alleged', 'disputed', 'confirmed', 'contested', 'retracted']);
export type AttributionStatus = z.infer<typeof AttributionStatus>;

/** What the status rule needs to know of one claim. */
export interface ClaimFacts {
  readonly retracted: boolean;
  readonly denials: number;
  readonly confirmations: number;
}

/**
 * Applies the status rule to a set of claims: `retracted` when none is active (not retracted); otherwise,
 * over the active claims only, D = some has a denial, C = some has a confirmation: `alleged` (neither),
 * `disputed` (D), `confirmed` (C), `contested` (both). Denials and confirmations of retracted claims do not
 * count.
 *
 * An empty set has no status: the result is then `undefined` (the HTTP layer answers `404`). Given a
 * non-empty tuple, the result type says so.
 *
 * @example
 * ```ts
 * statusOf([{ retracted: false, denials: 1, confirmations: 1 }]); // 'contested'
 * statusOf([]); // undefined
 * ```
 */
export function statusOf(claims: readonly [ClaimFacts, ...ClaimFacts[]]): AttributionStatus;
export function statusOf(claims: readonly ClaimFacts[]): AttributionStatus | undefined;
export function statusOf(claims: readonly ClaimFacts[]): AttributionStatus | undefined {
  if (claims.length === 0) return undefined;
  const active = claims.filter((claim) => !claim.retracted);
  if (active.length === 0) return 'retracted';
  const denied = active.some((claim) => claim.denials > 0);
  const confirmed = active.some((claim) => claim.confirmations > 0);
  if (denied) return confirmed ? 'contested' : 'disputed';
  return confirmed ? 'confirmed' : 'alleged';
}

/** The metadata the folds read; stores may carry more (principal, integrity fields). */
export interface RecordedMetadata {
  readonly recordedAt: string;
  readonly [key: string]: unknown;
}

/** A claim event as recorded in the ledger: with its metadata and its global position. */
export type RecordedClaimEvent<T extends ClaimEventType = ClaimEventType> = ClaimEventOf<T> & {
  readonly metadata: RecordedMetadata;
  readonly position: bigint;
};

/**
 * A past moment to rebuild: `asOf` keeps the events stated at or before it (`statedAt ≤ asOf`), `knownAt`
 * those recorded at or before it (`recordedAt ≤ knownAt`); both may be given. Instants are compared, not
 * strings.
 */
export const Cutoff = z.strictObject({ asOf: DateTime.optional(), knownAt: DateTime.optional() });
export type Cutoff = z.infer<typeof Cutoff>;

/** One claim with the events folded for it, each list in position order. */
export interface FoldedClaim {
  readonly claimId: string;
  readonly made: RecordedClaimEvent<'ClaimMade'>;
  readonly denials: readonly RecordedClaimEvent<'ClaimDenied'>[];
  readonly confirmations: readonly RecordedClaimEvent<'ClaimConfirmed'>[];
  readonly retraction: RecordedClaimEvent<'ClaimRetracted'> | undefined;
}

interface ClaimBuilder {
  readonly claimId: string;
  readonly made: RecordedClaimEvent<'ClaimMade'>;
  readonly denials: RecordedClaimEvent<'ClaimDenied'>[];
  readonly confirmations: RecordedClaimEvent<'ClaimConfirmed'>[];
  retraction: RecordedClaimEvent<'ClaimRetracted'> | undefined;
}

// Positions are unique in a ledger, so ordering by them makes the fold independent of the input order.
const byPosition = (a: { readonly position: bigint }, b: { readonly position: bigint }): number =>
  Number(a.position - b.position);

function withinCutoff(event: RecordedClaimEvent, cutoff: Cutoff): boolean {
  return (
    (cutoff.asOf === undefined || compareInstants(event.data.statedAt, cutoff.asOf) <= 0) &&
    (cutoff.knownAt === undefined || compareInstants(event.metadata.recordedAt, cutoff.knownAt) <= 0)
  );
}

/**
 * Folds recorded claim events into claims, as they stood at `cutoff` (see `Cutoff`; none: everything).
 *
 * The input order does not matter: events are taken in position order. Events outside the cut-off are left
 * out, and so are the events of claims whose `ClaimMade` is not folded (outside the cut-off or absent), a
 * second `ClaimMade` or `ClaimRetracted` of a claim, and events of unknown types. The claims come in the
 * position order of their `ClaimMade`.
 *
 * @example
 * ```ts
 * const claims = foldClaims(events, { asOf: '2020-09-11T00:00:00Z' });
 * statusOf(claims.map(claimFactsOf));
 * ```
 */
export function foldClaims(events: readonly RecordedClaimEvent[], cutoff: Cutoff = {}): FoldedClaim[] {
  const claims = new Map<string, ClaimBuilder>();
  for (const event of events.toSorted(byPosition)) {
    switch (event.type) {
      case 'ClaimMade':
        if (!claims.has(event.data.claimId) && withinCutoff(event, cutoff)) {
          const claimId = event.data.claimId;
          claims.set(claimId, {
            claimId,
            made: event,
            denials: [],
            confirmations: [],
            retraction: undefined,
          });
        }
        break;
      case 'ClaimDenied': {
        const claim = claims.get(event.data.claimId);
        if (claim !== undefined && withinCutoff(event, cutoff)) claim.denials.push(event);
        break;
      }
      case 'ClaimConfirmed': {
        const claim = claims.get(event.data.claimId);
        if (claim !== undefined && withinCutoff(event, cutoff)) claim.confirmations.push(event);
        break;
      }
      case 'ClaimRetracted': {
        const claim = claims.get(event.data.claimId);
        if (claim !== undefined && claim.retraction === undefined && withinCutoff(event, cutoff)) {
          claim.retraction = event;
        }
        break;
      }
    }
  }
  return [...claims.values()];
}

/**
 * The facts the status rule reads from a folded claim.
 *
 * @example
 * ```ts
 * statusOf(foldClaims(events).map(claimFactsOf));
 * ```
 */
export function claimFactsOf(claim: FoldedClaim): ClaimFacts {
  return {
    retracted: claim.retraction !== undefined,
    denials: claim.denials.length,
    confirmations: claim.confirmations.length,
  };
}

function eventsOf(claim: FoldedClaim): RecordedClaimEvent[] {
  const events: RecordedClaimEvent[] = [claim.made, ...claim.denials, ...claim.confirmations];
  if (claim.retraction !== undefined) events.push(claim.retraction);
  return events;
}

// Chronological order of the world, with the ledger's order breaking ties between equal instants.
const byStatedAtThenPosition = (a: RecordedClaimEvent, b: RecordedClaimEvent): number =>
  compareInstants(a.data.statedAt, b.data.statedAt) || byPosition(a, b);

const sortedDistinct = (ids: readonly string[]): string[] => [...new Set(ids)].sort();

/** One entry of `attributions[]` in `GET /v1/actors/:actorId`. */
export interface AttributionSummary {
  readonly state: StateCode;
  readonly status: AttributionStatus;
  readonly claims: number;
  readonly activeClaims: number;
  readonly denials: number;
  readonly confirmations: number;
  readonly claimants: string[];
  readonly deniers: string[];
  readonly confirmers: string[];
  readonly firstStatedAt: string;
  readonly lastStatedAt: string;
}

/** The body of `GET /v1/actors/:actorId` (`position` still a `bigint`: the HTTP layer serialises it). */
export interface ActorSummary {
  readonly actorId: string;
  readonly name: string;
  readonly aliases: string[];
  readonly status: AttributionStatus;
  readonly attributions: AttributionSummary[];
  readonly position: bigint;
  readonly lastStatedAt: string;
}

function summarizeAttribution(
  state: StateCode,
  claims: readonly [FoldedClaim, ...FoldedClaim[]],
): AttributionSummary {
  const chronological = claims.flatMap(eventsOf).sort(byStatedAtThenPosition);
  return {
    state,
    status: statusOf(claims.map(claimFactsOf) as [ClaimFacts, ...ClaimFacts[]]),
    claims: claims.length,
    activeClaims: claims.filter((claim) => claim.retraction === undefined).length,
    denials: claims.reduce((sum, claim) => sum + claim.denials.length, 0),
    confirmations: claims.reduce((sum, claim) => sum + claim.confirmations.length, 0),
    claimants: sortedDistinct(claims.map((claim) => claim.made.data.claimant.id)),
    deniers: sortedDistinct(claims.flatMap((claim) => claim.denials.map((denial) => denial.data.denier.id))),
    confirmers: sortedDistinct(
      claims.flatMap((claim) => claim.confirmations.map((c) => c.data.confirmer.id)),
    ),
    firstStatedAt: chronological[0]!.data.statedAt,
    lastStatedAt: chronological.at(-1)!.data.statedAt,
  };
}

/**
 * Summarises one actor as it stood at `cutoff`: the body of `GET /v1/actors/:actorId`, or `undefined` when no
 * claim is inside the cut-off (`404`). `events` are the events of the actor's claims; events naming another
 * actor are a caller's mistake and throw a `RangeError`.
 *
 * - `name`: from the most recent claim (latest `statedAt`, then highest position); names are recorded as said.
 * - `aliases`: the union over all claims, first seen (position order) first, de-duplicated ignoring case.
 * - `status`: the status rule over all claims; each attribution's over the claims naming its state.
 * - counts: over all claims naming the state inside the cut-off, retracted ones included (`activeClaims`
 *   counts those not retracted); `claimants`/`deniers`/`confirmers`: distinct party ids, sorted.
 * - `firstStatedAt`/`lastStatedAt`: earliest/latest instant over every folded event of those claims, as
 *   written; `attributions` sorted by state; `position`: the highest position among the folded events.
 *
 * @example
 * ```ts
 * summarizeActor(events, { knownAt: '2020-09-11T00:00:00Z' })?.status; // 'contested'
 * ```
 */
export function summarizeActor(
  events: readonly RecordedClaimEvent[],
  cutoff?: Cutoff,
): ActorSummary | undefined {
  const claims = foldClaims(events, cutoff);
  const [first] = claims;
  if (first === undefined) return undefined;
  const actorId = first.made.data.actor.id;
  const actorIds = sortedDistinct(claims.map((claim) => claim.made.data.actor.id));
  if (actorIds.length > 1)
    throw new RangeError(`summarizeActor: events name several actors: ${actorIds.join(', ')}`);

  const latest = claims.map((claim) => claim.made).sort(byStatedAtThenPosition);
  const aliases = new Map<string, string>();
  for (const alias of claims.flatMap((claim) => claim.made.data.actor.aliases)) {
    const key = alias.toLowerCase();
    if (!aliases.has(key)) aliases.set(key, alias);
  }

  const byState = new Map<StateCode, [FoldedClaim, ...FoldedClaim[]]>();
  for (const claim of claims) {
    const state = claim.made.data.attribution.state;
    const group = byState.get(state);
    if (group === undefined) byState.set(state, [claim]);
    else group.push(claim);
  }
  const attributions = [...byState.keys()]
    .sort()
    .map((state) => summarizeAttribution(state, byState.get(state)!));

  const folded = claims.flatMap(eventsOf);
  return {
    actorId,
    name: latest.at(-1)!.data.actor.name,
    aliases: [...aliases.values()],
    status: statusOf(claims.map(claimFactsOf) as [ClaimFacts, ...ClaimFacts[]]),
    attributions,
    position: folded.toSorted(byPosition).at(-1)!.position,
    lastStatedAt: folded.sort(byStatedAtThenPosition).at(-1)!.data.statedAt,
  };
}

/** One entry of `GET /v1/actors/:actorId/disputes`. */
export interface DisputeEntry {
  readonly kind: 'claim' | 'denial' | 'confirmation' | 'retraction';
  readonly claimId: string;
  readonly party: Party;
  readonly statedAt: string;
  readonly recordedAt: string;
  readonly text: string;
  readonly source?: Source;
  readonly position: bigint;
}

function entry(
  kind: DisputeEntry['kind'],
  event: RecordedClaimEvent,
  party: Party,
  text: string,
  source: Source | undefined,
): DisputeEntry {
  return {
    kind,
    claimId: event.data.claimId,
    // Copied field by field so that nothing else a stored party may carry leaks into the answer.
    party: { id: party.id, name: party.name, kind: party.kind },
    statedAt: event.data.statedAt,
    recordedAt: event.metadata.recordedAt,
    text,
    ...(source === undefined ? {} : { source }),
    position: event.position,
  };
}

/**
 * The dispute history of the claims in `events` as it stood at `cutoff`: one entry per folded claim,
 * denial, confirmation and retraction, ordered by `statedAt` instant, then position. `text` is the claim's
 * summary, the statement, or the retraction's reason; a retraction's party is the claimant.
 *
 * @example
 * ```ts
 * disputeEntries(events).map((e) => `${e.kind} by ${e.party.id}`); // ['claim by microsoft', 'denial by cn-mfa']
 * ```
 */
export function disputeEntries(events: readonly RecordedClaimEvent[], cutoff?: Cutoff): DisputeEntry[] {
  const entries = foldClaims(events, cutoff).flatMap((claim) => {
    const { made } = claim;
    const list = [entry('claim', made, made.data.claimant, made.data.summary, made.data.source)];
    for (const d of claim.denials)
      list.push(entry('denial', d, d.data.denier, d.data.statement, d.data.source));
    for (const c of claim.confirmations) {
      list.push(entry('confirmation', c, c.data.confirmer, c.data.statement, c.data.source));
    }
    const { retraction } = claim;
    if (retraction !== undefined) {
      list.push(entry('retraction', retraction, made.data.claimant, retraction.data.reason, undefined));
    }
    return list;
  });
  return entries.sort((a, b) => compareInstants(a.statedAt, b.statedAt) || Number(a.position - b.position));
}
