/**
 * Whole ledgers for the `rebuild` and `queries` suites: claim histories with the four event types, valid for the
 * domain's schemas (the projections skip invalid events, which would flatter a rebuild), deterministic by index
 * so that a cached ledger and the queries run on it agree on ids, actors and instants.
 *
 * Claim `index` is made by one of `CLAIMANTS` about actor `Actor <index % actors>` (or the hot actor, see
 * `hotEvery`); a fifth of the claims are denied, a tenth confirmed by an official body, a twentieth retracted
 * by their claimant. Events average about 1.35 per claim.
 */
import { claimFields } from './claim-events.js';

/**
 * Bump when the events this file generates change: cached ledgers (`.bench/`) are keyed by it, so an old
 * cache is never measured as if it were the new shape.
 */
export const GENERATOR_VERSION = 1;

const BASE_TIME = Date.parse('2025-03-01T09:00:00Z');
const ALIASES = [['Bronze Silhouette'], ['Fancy Bear', 'Sofacy'], ['Hidden Cobra'], []];
const DENIER = { id: 'cn-mfa', name: 'Ministry of Foreign Affairs', kind: 'government' };
const CONFIRMER = { id: 'us-dhs', name: 'Department of Homeland Security', kind: 'government' };

/** The claim id of claim `index` (a fixed UUID shape, so queries can name claims without reading them). */
export function claimIdOf(index) {
  return `0174776e-8a00-7000-8000-${index.toString(16).padStart(12, '0')}`;
}

/** The actor id of claim `index` (`actor-123` or `hot-actor`). */
export function actorIdOf(index, { actors, hotEvery }) {
  return hotEvery !== undefined && index % hotEvery === 0 ? 'hot-actor' : `actor-${index % actors}`;
}

/** The instant claim `index` was stated (`ClaimMade.statedAt`): one minute after claim `index - 1`. */
export function statedAtOf(index) {
  return new Date(BASE_TIME + index * 60_000).toISOString();
}

const at = (index, minutes) => new Date(BASE_TIME + index * 60_000 + minutes * 60_000).toISOString();

function metadata(index, kind, recordedAt) {
  const requestId = `bench-${index}-${kind}`;
  return {
    recordedAt,
    principal: 'bench@attribution-ledger',
    requestId,
    correlationId: requestId,
    schemaVersion: 1,
  };
}

/**
 * Claim `index`'s stream and events, in order. `shape`: `{ actors, hotEvery? }`; with `hotEvery`, every
 * `hotEvery`-th claim is about one hot actor, the slow case of `asOf` queries (they fold an actor's history).
 */
export function claimHistory(index, shape) {
  const claimId = claimIdOf(index);
  const actorId = actorIdOf(index, shape);
  const name = actorId === 'hot-actor' ? 'Hot Actor' : `Actor ${index % shape.actors}`;
  const made = {
    claimId,
    ...claimFields(index, { id: actorId, name, aliases: ALIASES[index % ALIASES.length] }),
  };
  made.statedAt = statedAtOf(index);
  const events = [{ type: 'ClaimMade', data: made, metadata: metadata(index, 'made', at(index, 1)) }];
  if (index % 5 === 1) {
    events.push({
      type: 'ClaimDenied',
      data: { claimId, denier: DENIER, statement: 'The accusation is groundless.', statedAt: at(index, 30) },
      metadata: metadata(index, 'denied', at(index, 31)),
    });
  }
  if (index % 10 === 2) {
    events.push({
      type: 'ClaimConfirmed',
      data: {
        claimId,
        confirmer: CONFIRMER,
        statement: 'We concur with this attribution.',
        statedAt: at(index, 60),
      },
      metadata: metadata(index, 'confirmed', at(index, 61)),
    });
  }
  if (index % 20 === 3) {
    events.push({
      type: 'ClaimRetracted',
      data: {
        claimId,
        by: made.claimant.id,
        reason: 'Superseded by a later report.',
        statedAt: at(index, 90),
      },
      metadata: metadata(index, 'retracted', at(index, 91)),
    });
  }
  return { stream: `claim-${claimId}`, claimId, actorId, events };
}
