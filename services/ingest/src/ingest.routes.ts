import type { LedgerConfig } from '@ledger/config';
import {
  type ClaimCommand,
  type ClaimEvent,
  ClaimInput,
  type ClaimState,
  ConfirmationInput,
  CURRENT_SCHEMA_VERSION,
  claimDecider,
  DenialInput,
  type EventMetadata,
  isLedgerError,
  RetractionInput,
  upcastClaimEvent,
} from '@ledger/domain';
import { type Decider, type EventStore, handleCommand, type RecordedEvent } from '@ledger/event-store';
import {
  assertSpeaksAs,
  HttpProblem,
  type IdempotencyRecords,
  logOnCompletion,
  NoQuery,
  type Ownership,
  principalOf,
  requestHash,
  type Scope,
  type StateStore,
  type StoredResponse,
} from '@ledger/http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { derivedId, newId } from './ids.js';
import {
  ClaimParams,
  claimWriteResponses,
  WriteHeaders,
  type WriteResult,
  writeResponses,
} from './ingest.schemas.js';

export interface IngestRoutesOptions {
  readonly store: EventStore;
  readonly state: StateStore;
  readonly config: Pick<LedgerConfig, 'idempotencyTtlMs'>;
  /**
   * Where idempotency records live; default `state.idempotency` (state.db, shared by the processes of one
   * machine). With EventStoreDB, `EventStoreIdempotency` keeps them in the event store for every node.
   */
  readonly idempotency?: IdempotencyRecords;
  /** The server clock for `recordedAt`; default `() => new Date()`. */
  readonly clock?: () => Date;
}

/** A claim event with the id it is (or will be) stored under. */
interface IdentifiedEvent {
  readonly id: string;
  readonly event: ClaimEvent;
}

interface ReplayAwareState {
  readonly claim: ClaimState;
  /** The event this request already appended (found by its derived id): decide answers with it again. */
  readonly stored: IdentifiedEvent | undefined;
}

/**
 * The claim decider, aware that an idempotent request may already have appended its event (a crash between
 * the append and the stored response): when the stream holds the derived event id, deciding again yields
 * that same event, which the store recognises as a retry and answers with the original position and
 * revision. Without this, re-deciding would fail (`claim-already-exists`, `claim-retracted`).
 */
function replayAwareDecider(eventId: string): Decider<ClaimCommand, IdentifiedEvent, ReplayAwareState> {
  return {
    initialState: () => ({ claim: claimDecider.initialState(), stored: undefined }),
    evolve: (state, identified) => ({
      claim: claimDecider.evolve(state.claim, identified.event),
      stored: identified.id === eventId ? identified : state.stored,
    }),
    decide: (command, state) =>
      state.stored !== undefined
        ? [state.stored]
        : claimDecider.decide(command, state.claim).map((event) => ({ id: eventId, event })),
  };
}

function fromRecorded(recorded: RecordedEvent): IdentifiedEvent {
  const event = upcastClaimEvent({ type: recorded.type, data: recorded.data }) as ClaimEvent;
  return { id: recorded.id, event };
}

/** Store errors that prove nothing was appended (the store rejected the append before writing). */
const REJECTED_APPENDS: ReadonlySet<string> = new Set([
  'wrong-expected-version',
  'stream-not-found',
  'invalid-append',
  'duplicate-event-id',
  // Refused at BEGIN: another process kept the write lock (SqliteEventStore's busy timeout).
  'store-busy',
]);

/**
 * Whether a failed request certainly appended nothing, so that its idempotency record may be dropped (errors
 * are not stored). After any other failure (an I/O error, a store closing mid-commit) the event may be on
 * disk: the record stays in flight, and a retry after `STALE_IN_FLIGHT_MS` takes it over with the same
 * derived ids, finding the event if it was appended.
 */
function appendedNothing(error: unknown): boolean {
  if (isLedgerError(error)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && REJECTED_APPENDS.has(code);
}

interface Write {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  /** The validated headers and body (the raw ones are on `request`). */
  readonly headers: WriteHeaders;
  readonly body: unknown;
  /** Route as scoped for idempotency: method and concrete path. */
  readonly route: string;
  /** The party the body speaks as. */
  readonly speaksAs: string;
  /** The claim id, for routes under an existing claim; new claims get one made here. */
  readonly claimId?: string;
  readonly command: (claimId: string) => ClaimCommand;
  readonly location?: (claimId: string) => string;
}

/**
 * The four write routes of DESIGN §6 (`POST /v1/claims`, `…/denials`, `…/confirmations`, `…/retractions`).
 * Every command goes through `handleCommand` on the claim's stream; `Idempotency-Key` is honoured through
 * the `StateStore`. Needs `authPlugin` registered on the parent.
 *
 * @example
 * ```ts
 * await app.register(authPlugin, { keys: state.keys });
 * await app.register(ingestRoutes, { store, state, config });
 * ```
 */
export const ingestRoutes: FastifyPluginAsyncZod<IngestRoutesOptions> = async (app, options) => {
  const { store, state, config } = options;
  const idempotency = options.idempotency ?? state.idempotency;
  const clock = options.clock ?? (() => new Date());

  async function write(w: Write): Promise<void> {
    const { request, reply, route } = w;
    const { keyId } = principalOf(request);
    assertSpeaksAs(request, w.speaksAs);
    const idempotencyKey = w.headers['idempotency-key'];
    const scope = idempotencyKey === undefined ? undefined : { keyId, route, idempotencyKey };

    let claimId = w.claimId ?? newId();
    let eventId = newId();
    // A claim id minted here names a stream nobody has written; derived ids may name one a crash left behind.
    let newStream = w.claimId === undefined;
    /**
     * Which begun request this is (a late answer must not touch a record another request took over), and
     * whether it took the record over itself.
     */
    let owner: (Ownership & { readonly resumed: boolean }) | undefined;
    if (scope !== undefined) {
      const begun = await idempotency.begin({
        ...scope,
        requestHash: requestHash(w.body),
        ttlMs: config.idempotencyTtlMs,
      });
      switch (begun.kind) {
        case 'replay':
          reply
            .code(begun.status)
            .headers({ ...begun.headers, 'idempotent-replayed': 'true' })
            .send(begun.body);
          return;
        case 'mismatch':
          throw new HttpProblem(
            422,
            'idempotency-key-reused',
            'Unprocessable Content',
            'this Idempotency-Key was already used with another request body',
          );
        case 'in-flight':
          throw new HttpProblem(
            409,
            'idempotency-key-in-flight',
            'Conflict',
            'a request with this Idempotency-Key is still being handled',
            { headers: { 'retry-after': '1' } },
          );
      }
      owner = { lockedAt: begun.lockedAt, resumed: begun.resumed };
      const seed = { ...scope, createdAt: begun.createdAt };
      claimId = w.claimId ?? derivedId(seed, 'claim');
      eventId = derivedId(seed, 'event');
      newStream = false;
    }

    let response: Awaited<ReturnType<typeof append>>;
    try {
      response = await append(w, { claimId, eventId, newStream }, keyId, idempotencyKey);
    } catch (error) {
      // A record taken over from a request gone stale is never abandoned: that request may still be running and
      // append with the same derived ids, which a retry finds only while the record (its createdAt) is kept.
      if (scope !== undefined && owner !== undefined && !owner.resumed && appendedNothing(error)) {
        await idempotency.abandon({ ...scope, lockedAt: owner.lockedAt });
      }
      throw error;
    }
    if (scope !== undefined && owner !== undefined) {
      await idempotency.complete({ ...scope, lockedAt: owner.lockedAt, ...response });
    }
    reply.code(response.status).headers(response.headers).send(response.body);
  }

  async function append(
    w: Write,
    { claimId, eventId, newStream }: { claimId: string; eventId: string; newStream: boolean },
    keyId: string,
    idempotencyKey: string | undefined,
  ): Promise<StoredResponse & { body: WriteResult }> {
    const { request, headers } = w;
    const result = await handleCommand(
      store,
      `claim-${claimId}`,
      replayAwareDecider(eventId),
      w.command(claimId),
      {
        fromRecorded,
        newStream,
        toEventData: ({ id, event }) => {
          const metadata: EventMetadata & { idempotencyKey?: string } = {
            recordedAt: clock().toISOString(),
            principal: keyId,
            requestId: request.id,
            correlationId: headers['x-correlation-id'] ?? request.id,
            ...(headers['x-causation-id'] === undefined ? {} : { causationId: headers['x-causation-id'] }),
            schemaVersion: CURRENT_SCHEMA_VERSION,
            ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
          };
          return { id, type: event.type, data: event.data, metadata };
        },
      },
    );
    // Every claim command decides exactly one event, so something was appended (or found appended).
    const appended = result.appended!;
    const body: WriteResult = {
      claimId,
      eventId,
      position: Number(appended.position.commit),
      revision: Number(appended.nextExpectedRevision),
    };
    logOnCompletion(request, { claimId, eventId, position: body.position });
    return {
      status: 201,
      body,
      headers: w.location === undefined ? {} : { location: w.location(claimId) },
    };
  }

  const tags = ['claims'];
  const scoped = (scope: Scope) => ({ scope });

  app.post(
    '/v1/claims',
    {
      config: scoped('claims:write'),
      schema: {
        tags,
        summary: 'Record a claim: one party attributes one actor to one state',
        body: ClaimInput,
        querystring: NoQuery,
        headers: WriteHeaders,
        response: writeResponses,
      },
    },
    (request, reply) =>
      write({
        request,
        reply,
        headers: request.headers,
        body: request.body,
        route: 'POST /v1/claims',
        speaksAs: request.body.claimant.id,
        command: (claimId) => ({ type: 'MakeClaim', data: { claimId, ...request.body } }),
        location: (claimId) => `/v1/claims/${claimId}`,
      }),
  );

  app.post(
    '/v1/claims/:claimId/denials',
    {
      config: scoped('denials:write'),
      schema: {
        tags,
        summary: "Record a party's denial of a claim",
        params: ClaimParams,
        body: DenialInput,
        querystring: NoQuery,
        headers: WriteHeaders,
        response: claimWriteResponses,
      },
    },
    (request, reply) =>
      write({
        request,
        reply,
        headers: request.headers,
        body: request.body,
        route: `POST /v1/claims/${request.params.claimId}/denials`,
        claimId: request.params.claimId,
        speaksAs: request.body.denier.id,
        command: (claimId) => ({ type: 'DenyClaim', data: { claimId, ...request.body } }),
      }),
  );

  app.post(
    '/v1/claims/:claimId/confirmations',
    {
      config: scoped('confirmations:write'),
      schema: {
        tags,
        summary: "Record an official body's confirmation of a claim",
        params: ClaimParams,
        body: ConfirmationInput,
        querystring: NoQuery,
        headers: WriteHeaders,
        response: claimWriteResponses,
      },
    },
    (request, reply) =>
      write({
        request,
        reply,
        headers: request.headers,
        body: request.body,
        route: `POST /v1/claims/${request.params.claimId}/confirmations`,
        claimId: request.params.claimId,
        speaksAs: request.body.confirmer.id,
        command: (claimId) => ({ type: 'ConfirmClaim', data: { claimId, ...request.body } }),
      }),
  );

  app.post(
    '/v1/claims/:claimId/retractions',
    {
      config: scoped('retractions:write'),
      schema: {
        tags,
        summary: 'Record the claimant withdrawing its own claim',
        params: ClaimParams,
        body: RetractionInput,
        querystring: NoQuery,
        headers: WriteHeaders,
        response: claimWriteResponses,
      },
    },
    (request, reply) =>
      write({
        request,
        reply,
        headers: request.headers,
        body: request.body,
        route: `POST /v1/claims/${request.params.claimId}/retractions`,
        claimId: request.params.claimId,
        speaksAs: request.body.by,
        command: (claimId) => ({ type: 'RetractClaim', data: { claimId, ...request.body } }),
      }),
  );
};
