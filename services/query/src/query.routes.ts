import type { LedgerConfig } from '@ledger/config';
import { HttpProblem, ProblemDetails } from '@ledger/http';
import type { LedgerQueries } from '@ledger/projections';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { caughtUp } from './caught-up.js';
import {
  ActorList,
  ActorParams,
  ActorsQuery,
  ActorView,
  AuditPage,
  AuditQuery,
  ClaimList,
  ClaimParams,
  ClaimsQuery,
  ClaimView,
  Cutoffs,
  Disputes,
} from './query.schemas.js';

export interface QueryRoutesOptions {
  readonly queries: LedgerQueries;
  readonly config: Pick<LedgerConfig, 'consistencyWaitMs'>;
}

/** Every status a read route can answer besides 200. */
const errors = { 400: ProblemDetails, 401: ProblemDetails, 403: ProblemDetails, 503: ProblemDetails };
const withNotFound = { ...errors, 404: ProblemDetails };

function notFound(what: string, id: string): HttpProblem {
  return new HttpProblem(
    404,
    `${what}-not-found`,
    `${what === 'claim' ? 'Claim' : 'Actor'} not found`,
    `no ${what} ${id}`,
  );
}

/** Lists answer a malformed or foreign cursor with a 400 naming the `cursor` parameter. */
function paged<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'invalid-cursor') throw error;
    throw new HttpProblem(400, 'invalid-cursor', 'Invalid cursor', 'the cursor was not issued by this list', {
      errors: [{ path: 'querystring.cursor', message: 'not a cursor this list issued' }],
    });
  }
}

/**
 * The read routes of DESIGN §6 (all but subscriptions). Every one takes `minPosition`: it waits until the read
 * models have folded that position, so a client reads its own writes, and answers 503 with `Retry-After` when
 * they have not within `LEDGER_CONSISTENCY_WAIT_MS`.
 */
export const queryRoutes: FastifyPluginAsync<QueryRoutesOptions> = async (fastify, { queries, config }) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  // A shutting-down server answers pending minPosition waits with 503 at once instead of holding the drain.
  fastify.addHook('preClose', async () => queries.interruptWaits());

  app.get(
    '/v1/claims/:claimId',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['claims'],
        summary: 'One claim with its status, denials, confirmations and retraction',
        params: ClaimParams,
        querystring: Cutoffs.pick({ minPosition: true }),
        response: { 200: ClaimView, ...withNotFound },
      },
    },
    async (request) => {
      await caughtUp(queries, request.query.minPosition, config.consistencyWaitMs);
      const claim = queries.getClaim(request.params.claimId);
      if (claim === undefined) throw notFound('claim', request.params.claimId);
      return claim;
    },
  );

  app.get(
    '/v1/claims',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['claims'],
        summary: 'Claims, filtered by actor, claimant, state and status, in pages',
        querystring: ClaimsQuery,
        response: { 200: ClaimList, ...errors },
      },
    },
    async (request) => {
      const { minPosition, ...filters } = request.query;
      await caughtUp(queries, minPosition, config.consistencyWaitMs);
      return paged(() => queries.listClaims(filters));
    },
  );

  app.get(
    '/v1/actors',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['actors'],
        summary: 'Actors with their current status, filtered by status and attributed state, ordered by id',
        querystring: ActorsQuery,
        response: { 200: ActorList, ...errors },
      },
    },
    async (request) => {
      const { minPosition, ...filters } = request.query;
      await caughtUp(queries, minPosition, config.consistencyWaitMs);
      return paged(() => queries.listActors(filters));
    },
  );

  app.get(
    '/v1/actors/:actorId',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['actors'],
        summary: "An actor's status and per-state attributions, now or as of a past moment",
        params: ActorParams,
        querystring: Cutoffs,
        response: { 200: ActorView, ...withNotFound },
      },
    },
    async (request) => {
      const { minPosition, ...cutoff } = request.query;
      await caughtUp(queries, minPosition, config.consistencyWaitMs);
      const actor = queries.getActor(request.params.actorId, cutoff);
      if (actor === undefined) throw notFound('actor', request.params.actorId);
      return actor;
    },
  );

  app.get(
    '/v1/actors/:actorId/disputes',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['actors'],
        summary: "An actor's dispute history: claims, denials, confirmations and retractions by statedAt",
        params: ActorParams,
        querystring: Cutoffs,
        response: { 200: Disputes, ...withNotFound },
      },
    },
    async (request) => {
      const { minPosition, ...cutoff } = request.query;
      await caughtUp(queries, minPosition, config.consistencyWaitMs);
      const disputes = queries.getDisputes(request.params.actorId, cutoff);
      if (disputes === undefined) throw notFound('actor', request.params.actorId);
      return disputes;
    },
  );

  app.get(
    '/v1/audit',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['audit'],
        summary: 'The audit trail in position order, filtered by party, actor, claim, type and recordedAt',
        querystring: AuditQuery,
        response: { 200: AuditPage, ...errors },
      },
    },
    async (request) => {
      const { minPosition, type, ...filters } = request.query;
      await caughtUp(queries, minPosition, config.consistencyWaitMs);
      return paged(() => queries.audit({ ...filters, ...(type === undefined ? {} : { types: type }) }));
    },
  );
};
