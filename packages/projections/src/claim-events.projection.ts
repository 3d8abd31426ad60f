import type { Party, RecordedClaimEvent } from '@ledger/domain';
import type { ProjectedEvent } from './decode.js';
import { instantMs } from './instants.js';
import type { Projection, ReadModelTx } from './projection.js';

/** What every event of a claim inherits from its `ClaimMade`. */
export interface ClaimContext {
  readonly actorId: string;
  readonly state: string;
  readonly claimant: Party;
}

/** One row of `claim_events`: the audit trail, and the input of the `asOf`/`knownAt` folds. */
export interface ClaimEventRow {
  readonly position: number;
  readonly event_id: string;
  readonly type: string;
  readonly stream_id: string;
  readonly revision: number;
  readonly claim_id: string;
  readonly actor_id: string;
  readonly state: string;
  readonly party_id: string;
  readonly party: string;
  readonly stated_at: string;
  readonly stated_at_ms: number;
  readonly recorded_at: string;
  readonly recorded_at_ms: number;
  readonly principal: string;
  readonly data: string;
  readonly metadata: string;
}

/** The context a `ClaimMade` gives its claim's later events. */
export function claimContextOf(event: RecordedClaimEvent<'ClaimMade'>): ClaimContext {
  const { actor, attribution, claimant } = event.data;
  return { actorId: actor.id, state: attribution.state, claimant };
}

/**
 * The party that speaks in an event: the claimant, the denier, the confirmer, or, for a retraction, the
 * claimant (only the claimant retracts). Only `{ id, name, kind }`, as recorded in the event.
 */
export function speakingParty(event: RecordedClaimEvent, context: ClaimContext): Party {
  const party =
    event.type === 'ClaimMade'
      ? event.data.claimant
      : event.type === 'ClaimDenied'
        ? event.data.denier
        : event.type === 'ClaimConfirmed'
          ? event.data.confirmer
          : context.claimant;
  return { id: party.id, name: party.name, kind: party.kind };
}

/**
 * The `claim_events` row of one event, given its claim's context (from the event itself for a `ClaimMade`).
 * Pure.
 *
 * @example
 * ```ts
 * claimEventRow(projected, claimContextOf(made)).actor_id; // 'zirconium'
 * ```
 */
export function claimEventRow(projected: ProjectedEvent, context: ClaimContext): ClaimEventRow {
  const { event } = projected;
  const party = speakingParty(event, context);
  const principal = event.metadata.principal;
  return {
    position: projected.position,
    event_id: projected.eventId,
    type: event.type,
    stream_id: projected.streamId,
    revision: projected.revision,
    claim_id: event.data.claimId,
    actor_id: context.actorId,
    state: context.state,
    party_id: party.id,
    party: JSON.stringify(party),
    stated_at: event.data.statedAt,
    stated_at_ms: instantMs(event.data.statedAt),
    recorded_at: event.metadata.recordedAt,
    recorded_at_ms: instantMs(event.metadata.recordedAt),
    principal: typeof principal === 'string' ? principal : '',
    data: JSON.stringify(event.data),
    metadata: JSON.stringify(event.metadata),
  };
}

/** The columns the folds read back from `claim_events`. */
export interface FoldRow {
  readonly position: number;
  readonly type: string;
  readonly data: string;
  readonly recorded_at: string;
}

/**
 * A `claim_events` row back as the domain folds it: the event's data, and of its metadata only `recordedAt`,
 * the one field the folds read (from its own column, so the stored metadata, seal included, is not parsed
 * for every row of an actor's history). Pure.
 */
export function recordedFromRow(row: FoldRow): RecordedClaimEvent {
  return {
    type: row.type,
    data: JSON.parse(row.data),
    metadata: { recordedAt: row.recorded_at },
    position: BigInt(row.position),
  } as RecordedClaimEvent;
}

const COLUMNS = [
  'position',
  'event_id',
  'type',
  'stream_id',
  'revision',
  'claim_id',
  'actor_id',
  'state',
  'party_id',
  'party',
  'stated_at',
  'stated_at_ms',
  'recorded_at',
  'recorded_at_ms',
  'principal',
  'data',
  'metadata',
] as const;

// Positional parameters: better-sqlite3 binds named ones by looking each key up, which costs more per row
// than the insert itself saves (a rebuild inserts one row per event).
const INSERT = `INSERT INTO claim_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;

/** The row's values in `COLUMNS` order. */
function claimEventValues(row: ClaimEventRow): unknown[] {
  return COLUMNS.map((column) => row[column]);
}
// A claim's stream starts with its ClaimMade (the decider refuses anything else first), so the claim's first
// row is it; the (claim_id, position) index finds it without scanning. Its own columns hold the context (the
// party of a ClaimMade row is the claimant), so the event's data need not be parsed again.
const FIRST =
  'SELECT type, actor_id, state, party FROM claim_events WHERE claim_id = ? ORDER BY position LIMIT 1';

interface FirstRow {
  readonly type: string;
  readonly actor_id: string;
  readonly state: string;
  readonly party: string;
}

/** The claim's context, or why the event is left out (as the domain's folds leave it out). */
function contextFor(event: RecordedClaimEvent, tx: ReadModelTx): ClaimContext | string {
  const row = tx.statement(FIRST).get(event.data.claimId) as FirstRow | undefined;
  if (event.type === 'ClaimMade') {
    // A second ClaimMade (the decider never writes one) could name another actor: `asOf` would then show
    // that actor while the current read models, like `summarizeActor`, ignore the event.
    return row === undefined ? claimContextOf(event) : 'a second ClaimMade for this claim';
  }
  if (row?.type !== 'ClaimMade') return 'no ClaimMade recorded for this claim';
  return { actorId: row.actor_id, state: row.state, claimant: JSON.parse(row.party) as Party };
}

/**
 * `claim_events`: one row per claim event, with its claim's actor and state. An event of a claim whose
 * `ClaimMade` was never recorded, and a second `ClaimMade` of a claim (the decider makes both impossible), are
 * reported and left out, as the domain's folds would leave them out.
 */
export const claimEventsProjection: Projection = {
  name: 'claim_events',
  handles: ['ClaimMade', 'ClaimDenied', 'ClaimConfirmed', 'ClaimRetracted'],
  apply(events, tx) {
    const insert = tx.statement(INSERT);
    for (const projected of events) {
      const context = contextFor(projected.event, tx);
      if (typeof context === 'string') tx.skipped(projected, context);
      else insert.run(claimEventValues(claimEventRow(projected, context)));
    }
  },
};
