import {
  type AttributionStatus,
  type Cutoff,
  type DisputeEntry,
  disputeEntries,
  type Party,
  type Source,
  summarizeActor,
} from '@ledger/domain';
import type Database from 'better-sqlite3';
import { type ActorView, actorView } from './actors.projection.js';
import { type FoldRow, recordedFromRow } from './claim-events.projection.js';
import type { ClaimView } from './claims.projection.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { ProjectionError } from './errors.js';
import { instantMs } from './instants.js';
import { CHECKPOINT_NAME } from './read-models.js';
import { openReadDb } from './schema.js';

/** Anything that reports committed positions in this process (a `ProjectionRuntime`). */
export interface ProgressSource {
  onProgress(listener: (position: number) => void): () => void;
}

export interface LedgerQueriesOptions {
  /** The runtime folding into this read.db in this process: waits then wake as soon as it commits. */
  readonly runtime?: ProgressSource;
  /** How often a wait checks read.db's `data_version` for other processes' commits (default 10 ms). */
  readonly pollIntervalMs?: number;
}

/** A page: the list and the cursor of the next page (`null` on the last). */
export interface Page {
  readonly next: string | null;
}

export interface ClaimFilters {
  readonly actor?: string | undefined;
  readonly claimant?: string | undefined;
  readonly state?: string | undefined;
  readonly status?: AttributionStatus | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export interface ActorFilters {
  readonly status?: AttributionStatus | undefined;
  readonly state?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export interface AuditFilters {
  readonly party?: string | undefined;
  readonly actor?: string | undefined;
  readonly claim?: string | undefined;
  readonly types?: readonly string[] | undefined;
  /** Inclusive. */
  readonly recordedFrom?: string | undefined;
  /** Exclusive. */
  readonly recordedTo?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** Which claim events a subscription follows (every one given must match). */
export interface EventFilter {
  /** Event types (`ClaimMade`, `ClaimDenied`, …); all types when absent. */
  readonly types?: readonly string[] | undefined;
  readonly actor?: string | undefined;
  /** The claim's attributed state. */
  readonly state?: string | undefined;
}

/** One entry of `GET /v1/actors`. */
export interface ActorListItem {
  readonly actorId: string;
  readonly name: string;
  readonly aliases: string[];
  readonly status: AttributionStatus;
  readonly attributions: { readonly state: string; readonly status: AttributionStatus }[];
  readonly lastStatedAt: string;
}

/** One entry of `GET /v1/actors/:actorId/disputes`. */
export interface DisputeView {
  readonly kind: DisputeEntry['kind'];
  readonly claimId: string;
  readonly party: Party;
  readonly statedAt: string;
  readonly recordedAt: string;
  readonly text: string;
  readonly source?: Source;
  readonly position: number;
}

/** One event of `GET /v1/audit`. */
export interface AuditEvent {
  readonly position: number;
  readonly eventId: string;
  readonly type: string;
  readonly streamId: string;
  readonly claimId: string;
  readonly actorId: string;
  readonly party: Party;
  readonly statedAt: string;
  readonly recordedAt: string;
  readonly principal: string;
  readonly data: Record<string, unknown>;
}

interface ActorRow {
  actor_id: string;
  name: string;
  aliases: string;
  status: AttributionStatus;
  attributions: string;
  last_stated_at: string;
}

interface AuditRow {
  position: number;
  event_id: string;
  type: string;
  stream_id: string;
  claim_id: string;
  actor_id: string;
  party: string;
  stated_at: string;
  recorded_at: string;
  principal: string;
  data: string;
}

/**
 * The WHERE clause of a list query. Only the first filter given through `indexed` may walk its column's index
 * (a unary `+` keeps SQLite off the others): without statistics the planner would as soon walk every
 * `disputed` claim to find one actor's. Later filters on that same column keep the index (both ends of a range).
 */
class Conditions {
  readonly params: (string | number)[] = [];
  readonly #clauses: string[] = [];
  #indexedColumn: string | undefined;

  /** Adds `clause` (with one `?`) when `value` is given. */
  add(clause: string, value: string | number | undefined): this {
    if (value !== undefined) {
      this.#clauses.push(clause);
      this.params.push(value);
    }
    return this;
  }

  /** Adds `<column> <condition>` when `value` is given, on the column's index if no other filter has it. */
  indexed(column: string, condition: string, value: string | number | undefined): this {
    if (value === undefined) return this;
    this.#indexedColumn ??= column;
    return this.add(`${this.#indexedColumn === column ? '' : '+'}${column} ${condition}`, value);
  }

  get sql(): string {
    return this.#clauses.length > 0 ? `WHERE ${this.#clauses.join(' AND ')}` : '';
  }
}

function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, not ${limit}`);
  return limit;
}

const NO_BOUND = Number.MAX_SAFE_INTEGER;

function auditEvent(row: AuditRow): AuditEvent {
  return {
    position: row.position,
    eventId: row.event_id,
    type: row.type,
    streamId: row.stream_id,
    claimId: row.claim_id,
    actorId: row.actor_id,
    party: JSON.parse(row.party) as Party,
    statedAt: row.stated_at,
    recordedAt: row.recorded_at,
    principal: row.principal,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

/** A pending `waitForPosition`. */
interface Waiter {
  readonly position: number;
  finish(reached: boolean): void;
}

/**
 * The read side: every `GET` body of DESIGN §6 from read.db, on its own connection (so it may run in another
 * process than the projector). Return values are plain JSON-ready objects, positions as numbers.
 *
 * Past moments (`asOf`, `knownAt`) fold ONE actor's `claim_events` rows (found through the `actor_id` index,
 * pre-filtered in SQL on whole milliseconds, then cut exactly by the domain) with `summarizeActor` and
 * `disputeEntries`, so any moment is right and the cost grows with the actor, not the ledger.
 *
 * @example
 * ```ts
 * const queries = LedgerQueries.open('./data/read.db', { runtime });
 * if (await queries.waitForPosition(42, 5000)) queries.getActor('zirconium', { asOf: '2020-09-11T00:00:00Z' });
 * queries.close();
 * ```
 */
export class LedgerQueries {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #runtime: ProgressSource | undefined;
  readonly #pollIntervalMs: number;
  readonly #waiters = new Set<Waiter>();
  /** The one poll of `data_version` and the one progress listener, both only while anyone waits. */
  #poll: NodeJS.Timeout | undefined;
  #offProgress: (() => void) | undefined;
  #dataVersion = 0;
  #closed = false;

  private constructor(db: Database.Database, options: LedgerQueriesOptions) {
    this.#db = db;
    this.#runtime = options.runtime;
    this.#pollIntervalMs = options.pollIntervalMs ?? 10;
  }

  /** Opens read.db at `path` read-only (creating its tables first if no projector has yet). */
  static open(path: string, options: LedgerQueriesOptions = {}): LedgerQueries {
    return new LedgerQueries(openReadDb(path, { queryOnly: true }), options);
  }

  #statement(sql: string): Database.Statement {
    if (this.#closed) throw new ProjectionError('read-models-closed', 'the queries are closed');
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** The last position the read models have folded (0 before the first batch). */
  checkpoint(): number {
    const row = this.#statement('SELECT position FROM checkpoints WHERE name = ?').get(CHECKPOINT_NAME) as
      | { position: number }
      | undefined;
    return row?.position ?? 0;
  }

  /**
   * Resolves `true` once the read models have folded `position`, `false` after `timeoutMs`, `interruptWaits()`
   * or `close()`. It wakes on the linked runtime's progress at once and checks read.db's `data_version` every
   * `pollIntervalMs` (10 ms; 100 ms as a fallback when a runtime is linked) for commits by other processes.
   * However many requests wait, one poll and one progress listener serve them all, and only while anyone waits.
   *
   * @example
   * ```ts
   * if (!(await queries.waitForPosition(minPosition, 5000))) throw new HttpProblem(503, …);
   * ```
   */
  waitForPosition(position: number, timeoutMs: number): Promise<boolean> {
    if (this.checkpoint() >= position) return Promise.resolve(true);
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        position,
        finish: (reached) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          if (this.#waiters.size === 0) this.#unwatch();
          resolve(reached);
        },
      };
      const timer = setTimeout(() => waiter.finish(this.checkpoint() >= position), timeoutMs);
      this.#waiters.add(waiter);
      this.#watch();
    });
  }

  /**
   * Resolves every pending `waitForPosition` with `false` at once; the connection stays open. A server that
   * shuts down calls it so requests waiting for consistency answer at once instead of holding the drain.
   *
   * @example
   * ```ts
   * app.addHook('preClose', async () => queries.interruptWaits());
   * ```
   */
  interruptWaits(): void {
    for (const waiter of [...this.#waiters]) waiter.finish(false);
  }

  /** Starts the shared poll and progress listener, unless they run already. */
  #watch(): void {
    if (this.#poll !== undefined) return;
    const dataVersion = this.#statement('PRAGMA data_version').pluck();
    // The baseline: a commit after this read changes data_version, so the poll sees it.
    this.#dataVersion = dataVersion.get() as number;
    this.#poll = setInterval(
      () => {
        const current = dataVersion.get() as number;
        if (current === this.#dataVersion) return;
        this.#dataVersion = current;
        this.#wake(this.checkpoint());
      },
      this.#runtime === undefined ? this.#pollIntervalMs : Math.max(100, this.#pollIntervalMs),
    );
    this.#offProgress = this.#runtime?.onProgress((committed) => this.#wake(committed));
    // A commit by another connection that landed between the first waiter's own check of the checkpoint and
    // the baseline read above is in the baseline already: the poll would never report it, and the wait would
    // last until some later commit (a lease heartbeat, seconds away) or its timeout. So look once more.
    this.#wake(this.checkpoint());
  }

  #unwatch(): void {
    clearInterval(this.#poll);
    this.#poll = undefined;
    this.#offProgress?.();
    this.#offProgress = undefined;
  }

  /** Resolves the waits that `committed` satisfies. */
  #wake(committed: number): void {
    for (const waiter of [...this.#waiters]) if (committed >= waiter.position) waiter.finish(true);
  }

  /** The body of `GET /v1/claims/:claimId`, or `undefined` (404). */
  getClaim(claimId: string): ClaimView | undefined {
    const row = this.#statement('SELECT view FROM claims WHERE claim_id = ?').get(claimId) as
      | { view: string }
      | undefined;
    return row === undefined ? undefined : this.#withLatestParties([JSON.parse(row.view) as ClaimView])[0];
  }

  /**
   * `GET /v1/claims`: claims in the order they were made (position of their `ClaimMade`), filtered by actor,
   * claimant, state and the claim's own status. Throws `invalid-cursor`.
   */
  listClaims(filters: ClaimFilters): { claims: ClaimView[]; next: string | null } {
    const limit = checkLimit(filters.limit);
    const where = new Conditions()
      .indexed('actor_id', '= ?', filters.actor)
      .indexed('claimant_id', '= ?', filters.claimant)
      .indexed('state', '= ?', filters.state)
      .indexed('status', '= ?', filters.status)
      .add(
        'position > ?',
        filters.cursor === undefined ? undefined : decodeCursor('claims', filters.cursor, 'number'),
      );
    const sql = `SELECT position, view FROM claims ${where.sql} ORDER BY position LIMIT ?`;
    const rows = this.#statement(sql).all(...where.params, limit + 1) as { position: number; view: string }[];
    const page = rows.slice(0, limit);
    return {
      claims: this.#withLatestParties(page.map((row) => JSON.parse(row.view) as ClaimView)),
      next: rows.length > limit ? encodeCursor('claims', page.at(-1)!.position) : null,
    };
  }

  /**
   * `GET /v1/actors`: the current summaries ordered by `actorId`; `status` filters the actor's own status,
   * `state` keeps actors with an attribution to that state. Throws `invalid-cursor`.
   */
  listActors(filters: ActorFilters): { actors: ActorListItem[]; next: string | null } {
    const limit = checkLimit(filters.limit);
    // With a state, the walk is driven by the state's index: only actors attributed to it, already in id order.
    const from =
      filters.state === undefined
        ? 'actors a'
        : 'actor_attributions x JOIN actors a ON a.actor_id = x.actor_id';
    const where = new Conditions()
      .add('x.state = ?', filters.state)
      .add('a.status = ?', filters.status)
      .add(
        'a.actor_id > ?',
        filters.cursor === undefined ? undefined : decodeCursor('actors', filters.cursor, 'string'),
      );
    const sql = `SELECT a.actor_id, a.name, a.aliases, a.status, a.attributions, a.last_stated_at FROM ${from}
      ${where.sql} ORDER BY a.actor_id LIMIT ?`;
    const rows = this.#statement(sql).all(...where.params, limit + 1) as ActorRow[];
    const page = rows.slice(0, limit);
    return {
      actors: page.map((row) => ({
        actorId: row.actor_id,
        name: row.name,
        aliases: JSON.parse(row.aliases) as string[],
        status: row.status,
        attributions: JSON.parse(row.attributions) as ActorListItem['attributions'],
        lastStatedAt: row.last_stated_at,
      })),
      next: rows.length > limit ? encodeCursor('actors', page.at(-1)!.actor_id) : null,
    };
  }

  /**
   * The body of `GET /v1/actors/:actorId` now, or as it stood at `asOf` (statements made by then) and/or
   * `knownAt` (what the ledger had recorded by then); `undefined` when no claim is inside the cut-off (404).
   */
  getActor(actorId: string, cutoff: Cutoff = {}): ActorView | undefined {
    if (cutoff.asOf === undefined && cutoff.knownAt === undefined) {
      const row = this.#statement('SELECT summary FROM actors WHERE actor_id = ?').get(actorId) as
        | { summary: string }
        | undefined;
      return row === undefined ? undefined : (JSON.parse(row.summary) as ActorView);
    }
    const summary = summarizeActor(this.#actorEvents(actorId, cutoff), cutoff);
    return summary === undefined ? undefined : actorView(summary);
  }

  /**
   * The body of `GET /v1/actors/:actorId/disputes` at the cut-off (none: now): every claim, denial,
   * confirmation and retraction by `statedAt`, then position; `undefined` when there is none (404).
   */
  getDisputes(actorId: string, cutoff: Cutoff = {}): { actorId: string; entries: DisputeView[] } | undefined {
    const entries = disputeEntries(this.#actorEvents(actorId, cutoff), cutoff);
    if (entries.length === 0) return undefined;
    // Like the claim views, and unlike the audit trail (the record of what was said): the most recent name.
    const current = this.#latestParties(new Set(entries.map((entry) => entry.party.id)));
    return {
      actorId,
      entries: entries.map((entry) => ({
        ...entry,
        party: current(entry.party),
        position: Number(entry.position),
      })),
    };
  }

  /**
   * `GET /v1/audit`: claim events in position order, filtered by speaking party, actor, claim, event types and
   * `recordedAt` (`recordedFrom` inclusive, `recordedTo` exclusive). Throws `invalid-cursor`.
   */
  audit(filters: AuditFilters): { events: AuditEvent[]; next: string | null } {
    const limit = checkLimit(filters.limit);
    // recordedAt carries milliseconds (the ingest clock), so rounding a finer bound up is exact for both.
    const where = new Conditions()
      .indexed('claim_id', '= ?', filters.claim)
      .indexed('actor_id', '= ?', filters.actor)
      .indexed('party_id', '= ?', filters.party)
      .indexed('type', 'IN (SELECT value FROM json_each(?))', filters.types && JSON.stringify(filters.types))
      .indexed('recorded_at_ms', '>= ?', filters.recordedFrom && instantMs(filters.recordedFrom, 'ceil'))
      .indexed('recorded_at_ms', '< ?', filters.recordedTo && instantMs(filters.recordedTo, 'ceil'))
      .add(
        'position > ?',
        filters.cursor === undefined ? undefined : decodeCursor('audit', filters.cursor, 'number'),
      );
    const sql = `SELECT position, event_id, type, stream_id, claim_id, actor_id, party, stated_at, recorded_at,
        principal, data FROM claim_events ${where.sql} ORDER BY position LIMIT ?`;
    const rows = this.#statement(sql).all(...where.params, limit + 1) as AuditRow[];
    const page = rows.slice(0, limit);
    return {
      events: page.map(auditEvent),
      next: rows.length > limit ? encodeCursor('audit', page.at(-1)!.position) : null,
    };
  }

  /**
   * Up to `limit` claim events with a position strictly after `position`, in position order, shaped as
   * `audit()` events and filtered by type, actor and the claim's state: the pages of a subscription
   * (`GET /v1/subscriptions/:topic`), which resumes from the last position it delivered. An actor filter walks
   * the `(actor_id, position)` index, else a type filter the `(type, position)` one, else the primary key;
   * the state is checked on those rows.
   *
   * @example
   * ```ts
   * const page = queries.eventsAfter(lastSeen, { types: ['ClaimDenied'], actor: 'zirconium' }, 500);
   * ```
   */
  eventsAfter(position: number, filter: EventFilter, limit: number): AuditEvent[] {
    checkLimit(limit);
    if (!Number.isSafeInteger(position) || position < 0)
      throw new RangeError(`position must be a non-negative integer, not ${position}`);
    // The primary key bounds the walk; the actor's index is the most selective, then the type's.
    const where = new Conditions()
      .add('position > ?', position)
      .indexed('actor_id', '= ?', filter.actor)
      .indexed('type', 'IN (SELECT value FROM json_each(?))', filter.types && JSON.stringify(filter.types))
      .add('+state = ?', filter.state);
    const sql = `SELECT position, event_id, type, stream_id, claim_id, actor_id, party, stated_at, recorded_at,
        principal, data FROM claim_events ${where.sql} ORDER BY position LIMIT ?`;
    return (this.#statement(sql).all(...where.params, limit) as AuditRow[]).map(auditEvent);
  }

  /** Ends pending waits (they resolve `false`) and closes the connection. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.interruptWaits();
    this.#closed = true;
    this.#db.close();
  }

  /** One actor's claim events, pre-filtered to whole milliseconds of the cut-off (a superset of it). */
  #actorEvents(actorId: string, cutoff: Cutoff) {
    const rows = this.#statement(
      `SELECT position, type, data, recorded_at FROM claim_events
       WHERE actor_id = ? AND stated_at_ms <= ? AND recorded_at_ms <= ? ORDER BY position`,
    ).all(
      actorId,
      cutoff.asOf === undefined ? NO_BOUND : instantMs(cutoff.asOf),
      cutoff.knownAt === undefined ? NO_BOUND : instantMs(cutoff.knownAt),
    ) as FoldRow[];
    return rows.map(recordedFromRow);
  }

  /**
   * A function that shows a party with its most recent name and kind (DESIGN §3: read models show the most
   * recent), for the parties with the given ids. One query for all of them.
   */
  #latestParties(ids: ReadonlySet<string>): <P extends Party>(party: P) => P {
    if (ids.size === 0) return (party) => party;
    const rows = this.#statement(
      'SELECT party_id, name, kind FROM parties WHERE party_id IN (SELECT value FROM json_each(?))',
    ).all(JSON.stringify([...ids])) as { party_id: string; name: string; kind: Party['kind'] }[];
    const latest = new Map(rows.map((row) => [row.party_id, { name: row.name, kind: row.kind }]));
    return (party) => ({ ...party, ...latest.get(party.id) });
  }

  /** Claim views with each party as `#latestParties` shows it. */
  #withLatestParties(views: ClaimView[]): ClaimView[] {
    const ids = new Set<string>();
    for (const view of views) {
      ids.add(view.claimant.id);
      for (const denial of view.denials) ids.add(denial.denier.id);
      for (const confirmation of view.confirmations) ids.add(confirmation.confirmer.id);
    }
    if (ids.size === 0) return views;
    const current = this.#latestParties(ids);
    return views.map((view) => ({
      ...view,
      claimant: current(view.claimant),
      denials: view.denials.map((denial) => ({ ...denial, denier: current(denial.denier) })),
      confirmations: view.confirmations.map((c) => ({ ...c, confirmer: current(c.confirmer) })),
    }));
  }
}
