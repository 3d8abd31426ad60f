import { type ActorSummary, summarizeActor } from '@ledger/domain';
import { type FoldRow, recordedFromRow } from './claim-events.projection.js';
import type { Projection } from './projection.js';

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

const ACTOR_OF = 'SELECT actor_id FROM claim_events WHERE position = ?';
const EVENTS_OF =
  'SELECT position, type, data, metadata FROM claim_events WHERE actor_id = ? ORDER BY position';
const UPSERT = `INSERT INTO actors (actor_id, name, aliases, status, attributions, last_stated_at, position, summary)
  VALUES (@actor_id, @name, @aliases, @status, @attributions, @last_stated_at, @position, @summary)
  ON CONFLICT (actor_id) DO UPDATE SET name = excluded.name, aliases = excluded.aliases,
    status = excluded.status, attributions = excluded.attributions, last_stated_at = excluded.last_stated_at,
    position = excluded.position, summary = excluded.summary`;
const DELETE_ATTRIBUTIONS = 'DELETE FROM actor_attributions WHERE actor_id = ?';
const INSERT_ATTRIBUTION =
  'INSERT INTO actor_attributions (actor_id, state, status) VALUES (@actor_id, @state, @status)';

/**
 * `actors` and `actor_attributions`: each actor's current summary (no cut-off), recomputed with the domain's
 * `summarizeActor` from its `claim_events` rows once per batch for every actor the batch touched. Runs after
 * the `claim_events` projection, in the same transaction, so it reads the batch's own rows.
 */
export const actorsProjection: Projection = {
  name: 'actors',
  handles: ['ClaimMade', 'ClaimDenied', 'ClaimConfirmed', 'ClaimRetracted'],
  apply(events, tx) {
    const touched = new Set<string>();
    const actorOf = tx.statement(ACTOR_OF).pluck();
    for (const projected of events) {
      const { event } = projected;
      const actorId =
        event.type === 'ClaimMade'
          ? event.data.actor.id
          : (actorOf.get(projected.position) as string | undefined);
      if (actorId !== undefined) touched.add(actorId);
    }
    const eventsOf = tx.statement(EVENTS_OF);
    for (const actorId of touched) {
      const rows = eventsOf.all(actorId) as FoldRow[];
      const summary = summarizeActor(rows.map(recordedFromRow));
      // A touched actor has at least the ClaimMade that named it.
      const { actor, attributions } = actorRows(summary!);
      tx.statement(UPSERT).run(actor);
      tx.statement(DELETE_ATTRIBUTIONS).run(actorId);
      for (const attribution of attributions) tx.statement(INSERT_ATTRIBUTION).run(attribution);
    }
  },
};
