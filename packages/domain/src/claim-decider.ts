/**
 * The claim decider: `decide(command, state) → events` and `evolve(state, event) → state` over one claim's
 * stream. Pure: the command brings ids and time, the caller reads and appends the stream.
 */
import type { ClaimCommand } from './commands.js';
import { DomainRuleError, NotFoundError } from './errors.js';
import type { Actor, ClaimEvent, ClaimEventOf } from './events.js';
import type { Attribution, OfficialParty, Party } from './values.js';
import { actorIdOf, compareInstants } from './values.js';

/** What the rules need to know about a claim that exists. */
export interface ClaimSnapshot {
  readonly claimId: string;
  readonly claimant: Party;
  readonly actor: Actor;
  readonly attribution: Attribution;
  readonly statedAt: string;
}

/** The state of one claim's stream, by status, so that each rule narrows to what it may use. */
export type ClaimState =
  | { readonly status: 'none' }
  | ({ readonly status: 'active' } & ClaimSnapshot)
  | ({ readonly status: 'retracted'; readonly retractedAt: string } & ClaimSnapshot);

/**
 * The state of a stream without events.
 *
 * @example
 * ```ts
 * const state = events.reduce(evolve, initialState()); // { status: 'none' } for an empty stream
 * ```
 */
export function initialState(): ClaimState {
  return { status: 'none' };
}

/**
 * Applies one event to the state. Events of unknown types (foreign, or from a newer writer) leave the state
 * as it is, so that a fold over old or mixed streams never crashes; upcast stored events before folding.
 *
 * @example
 * ```ts
 * const state = evolve(initialState(), { type: 'ClaimMade', data }); // { status: 'active', … }
 * ```
 */
export function evolve(state: ClaimState, event: ClaimEvent): ClaimState {
  switch (event.type) {
    case 'ClaimMade': {
      // A stream holds one ClaimMade (decide refuses a second one), so it always starts the claim.
      const { claimId, claimant, actor, attribution, statedAt } = event.data;
      return { status: 'active', claimId, claimant, actor, attribution, statedAt };
    }
    case 'ClaimRetracted':
      return state.status === 'active'
        ? { ...state, status: 'retracted', retractedAt: event.data.statedAt }
        : state;
    default:
      // Denials and confirmations do not change what the rules look at; unknown types are ignored.
      return state;
  }
}

function existingClaim(state: ClaimState, claimId: string): ClaimSnapshot {
  if (state.status === 'none') throw new NotFoundError('claim-not-found', `no claim ${claimId}`, { claimId });
  if (state.status === 'retracted') {
    throw new DomainRuleError('claim-retracted', `claim ${claimId} was retracted at ${state.retractedAt}`, {
      claimId,
      retractedAt: state.retractedAt,
    });
  }
  return state;
}

function notBeforeClaim(claim: ClaimSnapshot, statedAt: string): void {
  if (compareInstants(statedAt, claim.statedAt) < 0) {
    throw new DomainRuleError(
      'stated-before-claim',
      `stated at ${statedAt}, before the claim (${claim.statedAt})`,
      {
        claimId: claim.claimId,
        statedAt,
        claimStatedAt: claim.statedAt,
      },
    );
  }
}

function isOfficial(party: Party): party is OfficialParty {
  return party.kind === 'government' || party.kind === 'intergovernmental';
}

function assertNever(value: never): never {
  throw new TypeError(`unknown command ${JSON.stringify(value)}`);
}

/**
 * Decides which events a command produces on a claim's current state, or throws the broken rule:
 * `NotFoundError` `claim-not-found`, or `DomainRuleError` `claim-already-exists`, `claim-retracted`,
 * `confirmer-not-official`, `retraction-not-by-claimant`, `stated-before-claim`.
 *
 * `MakeClaim` derives `actor.id` from the actor's name (`actorIdOf`) and records `aliases` as `[]` when none
 * were given.
 *
 * @example
 * ```ts
 * const [event] = decide({ type: 'DenyClaim', data: { claimId, denier, statement, statedAt } }, state);
 * // event: { type: 'ClaimDenied', data: { claimId, denier, statement, statedAt } }
 * ```
 */
export function decide(command: ClaimCommand, state: ClaimState): ClaimEvent[] {
  switch (command.type) {
    case 'MakeClaim': {
      const { claimId, actor, ...rest } = command.data;
      if (state.status !== 'none') {
        throw new DomainRuleError('claim-already-exists', `claim ${claimId} already exists`, { claimId });
      }
      const made: ClaimEventOf<'ClaimMade'> = {
        type: 'ClaimMade',
        data: {
          claimId,
          ...rest,
          actor: { id: actorIdOf(actor.name), name: actor.name, aliases: [...(actor.aliases ?? [])] },
        },
      };
      return [made];
    }
    case 'DenyClaim': {
      const claim = existingClaim(state, command.data.claimId);
      notBeforeClaim(claim, command.data.statedAt);
      return [{ type: 'ClaimDenied', data: { ...command.data } }];
    }
    case 'ConfirmClaim': {
      const { confirmer } = command.data;
      const claim = existingClaim(state, command.data.claimId);
      if (!isOfficial(confirmer)) {
        throw new DomainRuleError(
          'confirmer-not-official',
          `only a government or intergovernmental body confirms; ${confirmer.id} is ${confirmer.kind}`,
          { claimId: claim.claimId, confirmer: confirmer.id, kind: confirmer.kind },
        );
      }
      notBeforeClaim(claim, command.data.statedAt);
      return [{ type: 'ClaimConfirmed', data: { ...command.data, confirmer } }];
    }
    case 'RetractClaim': {
      const claim = existingClaim(state, command.data.claimId);
      if (command.data.by !== claim.claimant.id) {
        throw new DomainRuleError(
          'retraction-not-by-claimant',
          `only the claimant ${claim.claimant.id} may retract; ${command.data.by} may not`,
          { claimId: claim.claimId, by: command.data.by, claimant: claim.claimant.id },
        );
      }
      notBeforeClaim(claim, command.data.statedAt);
      return [{ type: 'ClaimRetracted', data: { ...command.data } }];
    }
    default:
      return assertNever(command);
  }
}

/**
 * The claim decider as one value, for the command handler next to the event-store port.
 *
 * @example
 * ```ts
 * const state = streamEvents.reduce(claimDecider.evolve, claimDecider.initialState());
 * const events = claimDecider.decide(command, state);
 * ```
 */
export const claimDecider = { initialState, decide, evolve } as const;
