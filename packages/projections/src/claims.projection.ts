import {
  type AttributionStatus,
  type ClaimConfirmed,
  type ClaimDenied,
  type ClaimMade,
  type ClaimRetracted,
  type Party,
  statusOf,
} from '@ledger/domain';
import type { ProjectedEvent } from './decode.js';
import type { Projection, ReadModelTx } from './projection.js';

/** Where and when an event was recorded, as the claim view shows it beside the event's data. */
// A type, not an interface: the views must stay assignable to JSON records (`Record<string, unknown>`).
export type RecordedFields = {
  readonly eventId: string;
  readonly recordedAt: string;
  readonly position: number;
};

/**
 * The body of `GET /v1/claims/:claimId`: the `ClaimMade` data with where it was recorded, the claim's own
 * status (DESIGN §4 over this one claim), its denials, confirmations and retraction in position order (each
 * its event data plus `eventId`, `recordedAt`, `position`), and `revision`, the stream revision of its last
 * event.
 */
export type ClaimView = ClaimMade &
  RecordedFields & {
    readonly status: AttributionStatus;
    readonly denials: (ClaimDenied & RecordedFields)[];
    readonly confirmations: (ClaimConfirmed & RecordedFields)[];
    readonly retraction?: ClaimRetracted & RecordedFields;
    readonly revision: number;
  };

function recordedFields(projected: ProjectedEvent): RecordedFields {
  return {
    eventId: projected.eventId,
    recordedAt: projected.event.metadata.recordedAt,
    position: projected.position,
  };
}

function withStatus(view: Omit<ClaimView, 'status'>): ClaimView {
  const status = statusOf([
    {
      retracted: view.retraction !== undefined,
      denials: view.denials.length,
      confirmations: view.confirmations.length,
    },
  ]);
  return { ...view, status } as ClaimView;
}

/**
 * Folds one event into a claim's view. Pure. Like the domain's `foldClaims`, it ignores events of a claim
 * without a `ClaimMade`, a second `ClaimMade` and a second retraction (the decider allows none of them), and
 * it moves `revision` to the event's own.
 *
 * @example
 * ```ts
 * const view = events.reduce(evolveClaimView, undefined);
 * view?.status; // 'contested'
 * ```
 */
export function evolveClaimView(
  view: ClaimView | undefined,
  projected: ProjectedEvent,
): ClaimView | undefined {
  const { event } = projected;
  const revision = projected.revision;
  if (event.type === 'ClaimMade') {
    if (view !== undefined) return view;
    return withStatus({
      ...event.data,
      ...recordedFields(projected),
      denials: [],
      confirmations: [],
      revision,
    });
  }
  if (view === undefined) return undefined;
  switch (event.type) {
    case 'ClaimDenied':
      return withStatus({
        ...view,
        denials: [...view.denials, { ...event.data, ...recordedFields(projected) }],
        revision,
      });
    case 'ClaimConfirmed':
      return withStatus({
        ...view,
        confirmations: [...view.confirmations, { ...event.data, ...recordedFields(projected) }],
        revision,
      });
    default:
      if (view.retraction !== undefined) return { ...view, revision };
      return withStatus({ ...view, retraction: { ...event.data, ...recordedFields(projected) }, revision });
  }
}

/** The party whose latest name and kind an event records (a retraction names its party by id only). */
export function partyOf(projected: ProjectedEvent): Party | undefined {
  const { event } = projected;
  const party =
    event.type === 'ClaimMade'
      ? event.data.claimant
      : event.type === 'ClaimDenied'
        ? event.data.denier
        : event.type === 'ClaimConfirmed'
          ? event.data.confirmer
          : undefined;
  return party === undefined ? undefined : { id: party.id, name: party.name, kind: party.kind };
}

const SELECT = 'SELECT view FROM claims WHERE claim_id = ?';
const UPSERT = `INSERT INTO claims (claim_id, position, actor_id, claimant_id, state, status, view)
  VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (claim_id) DO UPDATE SET status = excluded.status, view = excluded.view`;
const UPSERT_PARTY = `INSERT INTO parties (party_id, name, kind, position) VALUES (?, ?, ?, ?)
  ON CONFLICT (party_id) DO UPDATE SET name = excluded.name, kind = excluded.kind, position = excluded.position
  WHERE excluded.position > parties.position`;

/**
 * `claims` (one view per claim, written once per claim per batch) and `parties` (each party's most recent
 * name and kind, which the claim views show: DESIGN §3 "read models show the most recent"; one row write per
 * party per batch).
 */
export const claimsProjection: Projection = {
  name: 'claims',
  handles: ['ClaimMade', 'ClaimDenied', 'ClaimConfirmed', 'ClaimRetracted'],
  apply(events, tx: ReadModelTx) {
    const touched = new Map<string, ClaimView | undefined>();
    const parties = new Map<string, { readonly party: Party; readonly position: number }>();
    const upsertParty = tx.statement(UPSERT_PARTY);
    for (const projected of events) {
      const claimId = projected.event.data.claimId;
      const current = touched.has(claimId)
        ? touched.get(claimId)
        : (() => {
            const row = tx.statement(SELECT).get(claimId) as { view: string } | undefined;
            return row === undefined ? undefined : (JSON.parse(row.view) as ClaimView);
          })();
      touched.set(claimId, evolveClaimView(current, projected));
      const party = partyOf(projected);
      // Events come in position order, so the last one of a party in the batch is the one its row keeps.
      if (party !== undefined) parties.set(party.id, { party, position: projected.position });
    }
    for (const { party, position } of parties.values())
      upsertParty.run(party.id, party.name, party.kind, position);
    const upsert = tx.statement(UPSERT);
    for (const view of touched.values()) {
      if (view === undefined) continue;
      upsert.run(
        view.claimId,
        view.position,
        view.actor.id,
        view.claimant.id,
        view.attribution.state,
        view.status,
        JSON.stringify(view),
      );
    }
  },
};
