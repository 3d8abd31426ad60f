import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpProblem, ProblemDetails } from './http-problem.js';
import { ADMIN_KEY_ID, type ApiKeys, CreateKeyInput } from './key-store.js';
import { NoQuery } from './request-schemas.js';
import { Scope } from './scopes.js';

export interface AdminKeysRoutesOptions {
  /** `state.keys` (state.db), or `EventStoreKeys` where nodes share only the event store. */
  readonly keys: Pick<ApiKeys, 'create' | 'list' | 'revoke'>;
}

/** A key id: 16 hex digits for created keys, `admin` for the bootstrap key (the id part of `ldg_<keyId>_…`). */
const KeyId = z
  .string()
  .regex(/^[a-z0-9]{1,64}$/, 'must be a key id (lower-case letters and digits)')
  .describe('the key id, as in ldg_<keyId>_<secret>');

const KeyParams = z.strictObject({ keyId: KeyId });

const Timestamp = z.iso.datetime();

const KeyParty = z.string().optional().describe('the party the key may only speak as');

const CreatedKeyBody = z
  .object({
    keyId: KeyId,
    key: z.string().describe('the secret bearer key: shown only in this response, never again'),
    name: z.string(),
    scopes: z.array(Scope),
    party: KeyParty,
  })
  .meta({ id: 'CreatedKey' });

const KeyInfoBody = z
  .object({
    keyId: KeyId,
    name: z.string(),
    scopes: z.array(Scope),
    party: KeyParty,
    createdAt: Timestamp,
    lastUsedAt: Timestamp.optional().describe('last successful use, to the minute'),
  })
  .meta({ id: 'KeyInfo' });

const KeyList = z.object({ keys: z.array(KeyInfoBody) }).meta({ id: 'KeyList' });

const problem = ProblemDetails;
const common = {
  400: problem.describe('invalid input: every failing field is named in errors'),
  401: problem.describe('no, unknown or revoked key'),
  403: problem.describe('the key lacks the admin scope'),
};

/**
 * Key management (DESIGN §6), all under scope `admin`: `POST /v1/admin/keys` creates a key and is the only
 * answer that carries its secret, `GET /v1/admin/keys` lists the active keys without secrets,
 * `DELETE /v1/admin/keys/:keyId` revokes a key at once (in every process on the same `state.db`; with
 * `EventStoreKeys`, on the other nodes within its `recheckMs`).
 *
 * The bootstrap admin key cannot be revoked here (422 `bootstrap-admin-not-revocable`): every service start
 * reinstates it from `LEDGER_ADMIN_KEY` or `admin.key`, so a revocation would lock operators out until the
 * next restart and then silently undo itself. It is rotated by changing `LEDGER_ADMIN_KEY` (or `admin.key`)
 * and restarting. Needs `authPlugin` registered on the parent.
 *
 * @example
 * ```ts
 * await app.register(authPlugin, { keys: state.keys });
 * await app.register(adminKeysRoutes, { keys: state.keys });
 * ```
 */
export const adminKeysRoutes: FastifyPluginAsyncZod<AdminKeysRoutesOptions> = async (app, { keys }) => {
  const tags = ['admin'];
  const config = { scope: 'admin' as const };

  app.post(
    '/v1/admin/keys',
    {
      config,
      schema: {
        tags,
        summary: 'Create an API key; its secret is shown only in this response',
        body: CreateKeyInput,
        querystring: NoQuery,
        response: {
          201: CreatedKeyBody,
          ...common,
          413: problem.describe('body over 1 MiB'),
          415: problem.describe('body is not application/json'),
        },
      },
    },
    async (request, reply) => {
      const created = await keys.create(request.body);
      request.log.info(
        { keyId: created.keyId, scopes: created.scopes, party: created.party },
        'api key created',
      );
      // The body holds a secret: no cache along the way may keep a copy.
      reply
        .code(201)
        .header('location', `/v1/admin/keys/${created.keyId}`)
        .header('cache-control', 'no-store');
      return {
        keyId: created.keyId,
        key: created.key,
        name: created.name,
        scopes: [...created.scopes],
        ...(created.party === undefined ? {} : { party: created.party }),
      };
    },
  );

  app.get(
    '/v1/admin/keys',
    {
      config,
      schema: {
        tags,
        summary: 'List the active API keys (never their secrets), oldest first',
        querystring: NoQuery,
        response: { 200: KeyList, ...common },
      },
    },
    async () => ({
      keys: (await keys.list()).map((key) => ({
        keyId: key.keyId,
        name: key.name,
        scopes: [...key.scopes],
        ...(key.party === undefined ? {} : { party: key.party }),
        createdAt: key.createdAt,
        ...(key.lastUsedAt === undefined ? {} : { lastUsedAt: key.lastUsedAt }),
      })),
    }),
  );

  app.delete(
    '/v1/admin/keys/:keyId',
    {
      config,
      schema: {
        tags,
        summary: 'Revoke an API key at once: it gets 401 from then on',
        params: KeyParams,
        querystring: NoQuery,
        response: {
          204: z.null().describe('revoked'),
          ...common,
          404: problem.describe('no active key with this id'),
          422: problem.describe('the bootstrap admin key cannot be revoked; rotate LEDGER_ADMIN_KEY instead'),
        },
      },
    },
    async (request, reply) => {
      const { keyId } = request.params;
      if (keyId === ADMIN_KEY_ID) {
        throw new HttpProblem(
          422,
          'bootstrap-admin-not-revocable',
          'Unprocessable Content',
          'the bootstrap admin key is reinstated at every start; rotate it by changing LEDGER_ADMIN_KEY ' +
            '(or admin.key in the data dir) and restarting',
        );
      }
      if (!(await keys.revoke(keyId))) {
        throw new HttpProblem(404, 'key-not-found', 'Not Found', `no active key ${keyId}`);
      }
      request.log.info({ keyId }, 'api key revoked');
      return reply.code(204).send(null);
    },
  );
};
