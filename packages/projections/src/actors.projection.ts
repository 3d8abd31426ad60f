import {
  type ActorFold,
  type ActorSummary,
  actorSummaryOf,
  type ClaimTally,
  evolveActorFold,
  type StateCode,
} from '@ledger/domain';
import type { ProjectedEvent } from './decode.js';
import type { Projection, ProjectionSession, ReadModelTx } from './projection.js';

/** The body of `GET /v1/actors/:actorId`, positions as numbers. */
export interface ActorView {
  readonly actorId: string;
  readonly name: string;
  readonly aliases: string[];
  readonly status: ActorSummary['status'];
  readonly attributions: ActorSummary['attributions'];
  readonly position: number;
}

/** One row of `actors` and its `actor_attributions` rows. */
export interface ActorRows {
  readonly actor: {
    readonly actor_id: string;
    readonly name: string;
    readonly aliases: string;
    readonly status: string;
    readonly attributions: string;
    readonly last_stated_at: string;
    readonly position: number;
    readonly summary: string;
  };
  readonly attributions: readonly {
    readonly actor_id: string;
    readonly state: string;
    readonly status: string;
  }[];
}

/**
 * The JSON body of `GET /v1/actors/:actorId` from the domain's summary: `position` becomes a number and
 * `lastStatedAt`, which only the actor list shows, is left out. Pure.
 */
export function actorView(summary: ActorSummary): ActorView {
  return {
    actorId: summary.actorId,
    name: summary.name,
    aliases: summary.aliases,
    status: summary.status,
    attributions: summary.attributions,
    position: Number(summary.position),
  };
}

/**
 * The rows of an actor's current summary. Pure.
 *
 * @example
 * ```ts
 * actorRows(summarizeActor(events)!).attributions; // [{ actor_id: 'zirconium', state: 'CN', status: 'contested' }]
 * ```
 */
export function actorRows(summary: ActorSummary): ActorRows {
  const view = actorView(summary);
  return {
    actor: {
      actor_id: summary.actorId,
      name: summary.name,
      aliases: JSON.stringify(summary.aliases),
      status: summary.status,
      attributions: JSON.stringify(summary.attributions.map(({ state, status }) => ({ state, status }))),
      last_stated_at: summary.lastStatedAt,
      position: view.position,
      summary: JSON.stringify(view),
    },
    attributions: summary.attributions.map(({ state, status }) => ({
      actor_id: summary.actorId,
      state,
      status,
    })),
  };
}

const FOLD_OF = 'SELECT fold FROM actor_folds WHERE actor_id = ?';
const UPSERT_FOLD = `INSERT INTO actor_folds (actor_id, fold) VALUES (?, ?)
  ON CONFLICT (actor_id) DO UPDATE SET fold = excluded.fold`;
const CLAIM_OF =
  'SELECT claim_id, actor_id, state, retracted, denials, confirmations FROM actor_claims WHERE claim_id = ?';
const UPSERT_CLAIM = `INSERT INTO actor_claims (claim_id, actor_id, state, retracted, denials, confirmations)
  VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (claim_id) DO UPDATE SET retracted = excluded.retracted, denials = excluded.denials,
    confirmations = excluded.confirmations`;
const UPSERT = `INSERT INTO actors (actor_id, name, aliases, status, attributions, last_stated_at, position, summary)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (actor_id) DO UPDATE SET name = excluded.name, aliases = excluded.aliases,
    status = excluded.status, attributions = excluded.attributions, last_stated_at = excluded.last_stated_at,
    position = excluded.position, summary = excluded.summary`;
const DELETE_ATTRIBUTIONS = 'DELETE FROM actor_attributions WHERE actor_id = ?';
const INSERT_ATTRIBUTION = 'INSERT INTO actor_attributions (actor_id, state, status) VALUES (?, ?, ?)';

interface ClaimRow {
  readonly claim_id: string;
  readonly actor_id: string;
  readonly state: StateCode;
  readonly retracted: number;
  readonly denials: number;
  readonly confirmations: number;
}

/**
 * The actors projection's fold over one read.db transaction: it reads each claim tally and actor fold at most
 * once, folds events into them in memory, writes each changed claim tally at the end of every `apply`, and
 * each changed actor's rows (fold, `actors`, `actor_attributions`) only on `flush()`. A live batch applies and
 * flushes once; a rebuild applies many chunks in one transaction and flushes when `pending` grows past
 * its bound and at the end, so an actor touched in many chunks is written once instead of once per chunk.
 * Between `apply` and `flush` the actor tables lag the events applied: flush before committing.
 */
export class ActorFolder implements ProjectionSession {
  readonly #tx: ReadModelTx;
  /**
   * The changed actors' folds as JSON (what `actor_folds` stores), until `flush()` writes them. Strings, not
   * objects: a fold as JSON is about a fifth of its size as objects, and a rebuild may hold tens of thousands.
   */
  readonly #changed = new Map<string, string>();
  /** The folds the last `apply` changed, still as objects: a flush right after it (live batches) parses none. */
  #lastChanged = new Map<string, ActorFold>();

  constructor(tx: ReadModelTx) {
    this.#tx = tx;
  }

  /** Actors whose folds changed since the last `flush()` (their rows are not written yet). */
  get pending(): number {
    return this.#changed.size;
  }

  /** Folds events (in position order) into their actors' folds; writes the changed claim tallies. */
  apply(events: readonly ProjectedEvent[]): void {
    const tx = this.#tx;
    // Claim tallies live for one call: a claim's later events are rare across chunks, and a rebuild's claims
    // would not fit in memory. Their rows are written at the end of the call, so later calls read them back.
    const claims = new Map<string, ClaimTally | undefined>();
    const changedClaims = new Set<string>();
    const claimOf = (claimId: string): ClaimTally | undefined => {
      if (!claims.has(claimId)) {
        const row = tx.statement(CLAIM_OF).get(claimId) as ClaimRow | undefined;
        claims.set(
          claimId,
          row && {
            claimId: row.claim_id,
            actorId: row.actor_id,
            state: row.state,
            retracted: row.retracted === 1,
            denials: row.denials,
            confirmations: row.confirmations,
          },
        );
      }
      return claims.get(claimId);
    };
    // The folds this call touches, as objects; the others stay JSON (changed) or rows (unchanged).
    const folds = new Map<string, ActorFold | undefined>();
    const changedActors = new Set<string>();
    const foldOf = (actorId: string): ActorFold | undefined => {
      if (!folds.has(actorId)) {
        const fold =
          this.#changed.get(actorId) ?? (tx.statement(FOLD_OF).pluck().get(actorId) as string | undefined);
        folds.set(actorId, fold === undefined ? undefined : (JSON.parse(fold) as ActorFold));
      }
      return folds.get(actorId);
    };

    for (const { event } of events) {
      const claim = claimOf(event.data.claimId);
      const actorId = claim?.actorId ?? (event.type === 'ClaimMade' ? event.data.actor.id : undefined);
      if (actorId === undefined) continue;
      const step = evolveActorFold(foldOf(actorId), claim, event);
      if (step === undefined) continue;
      claims.set(step.claim.claimId, step.claim);
      folds.set(actorId, step.fold);
      changedClaims.add(step.claim.claimId);
      changedActors.add(actorId);
    }
    this.#lastChanged = new Map();
    for (const actorId of changedActors) {
      const fold = folds.get(actorId)!;
      this.#changed.set(actorId, JSON.stringify(fold));
      this.#lastChanged.set(actorId, fold);
    }

    const upsertClaim = tx.statement(UPSERT_CLAIM);
    for (const claimId of changedClaims) {
      const claim = claims.get(claimId)!;
      upsertClaim.run(
        claim.claimId,
        claim.actorId,
        claim.state,
        claim.retracted ? 1 : 0,
        claim.denials,
        claim.confirmations,
      );
    }
  }

  /** Writes the rows of every actor changed since the last flush. */
  flush(): void {
    const tx = this.#tx;
    const upsertFold = tx.statement(UPSERT_FOLD);
    const upsert = tx.statement(UPSERT);
    const deleteAttributions = tx.statement(DELETE_ATTRIBUTIONS);
    const insertAttribution = tx.statement(INSERT_ATTRIBUTION);
    for (const [actorId, fold] of this.#changed) {
      upsertFold.run(actorId, fold);
      const folded = this.#lastChanged.get(actorId) ?? (JSON.parse(fold) as ActorFold);
      const { actor, attributions } = actorRows(actorSummaryOf(folded));
      upsert.run(
        actor.actor_id,
        actor.name,
        actor.aliases,
        actor.status,
        actor.attributions,
        actor.last_stated_at,
        actor.position,
        actor.summary,
      );
      deleteAttributions.run(actorId);
      for (const { state, status } of attributions) insertAttribution.run(actorId, state, status);
    }
    this.#changed.clear();
    this.#lastChanged.clear();
  }
}

/**
 * `actors` and `actor_attributions`: each actor's current summary (no cut-off). Each event is folded into its
 * actor's running tallies (`evolveActorFold`, kept in `actor_folds` and `actor_claims`), so a batch costs its
 * own events, whatever the actors' histories; each touched actor's rows are written once per batch, from
 * `actorSummaryOf` (see `ActorFolder`). The domain's property tests hold that summary equal to
 * `summarizeActor` over the events.
 */
export const actorsProjection: Projection = {
  name: 'actors',
  handles: ['ClaimMade', 'ClaimDenied', 'ClaimConfirmed', 'ClaimRetracted'],
  apply(events, tx) {
    const folder = new ActorFolder(tx);
    folder.apply(events);
    folder.flush();
  },
  session: (tx) => new ActorFolder(tx),
};
