import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpProblem } from './http-problem.js';
import type { ApiKeys } from './key-store.js';
import { hasScope, type Principal, type Scope } from './scopes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated key; set on every `/v1` request that got past `authPlugin`. */
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** The scope a route needs (`admin` implies every scope). */
    scope?: Scope;
    /**
     * A `/v1` route anyone may call without a key: only for what is public by nature, such as the integrity
     * public key, which third parties need to check proofs and which is safest when widely published.
     */
    public?: boolean;
  }
}

export interface AuthPluginOptions {
  readonly keys: Pick<ApiKeys, 'verify'>;
}

const PROTECTED_PREFIX = '/v1';
const BEARER = /^Bearer +(\S+) *$/i;

function unauthorized(detail: string): HttpProblem {
  return new HttpProblem(401, 'unauthorized', 'Unauthorized', detail, {
    headers: { 'www-authenticate': 'Bearer realm="ledger"' },
  });
}

function forbidden(code: string, detail: string): HttpProblem {
  return new HttpProblem(403, code, 'Forbidden', detail);
}

function isProtected(request: FastifyRequest): boolean {
  const path = request.routeOptions.url ?? request.url.split('?')[0]!;
  return path === PROTECTED_PREFIX || path.startsWith(`${PROTECTED_PREFIX}/`);
}

/**
 * The authenticated principal of a request, or a 401 problem when there is none.
 *
 * @example
 * ```ts
 * const { keyId } = principalOf(request);
 * ```
 */
export function principalOf(request: FastifyRequest): Principal {
  const principal = request.principal;
  if (principal === undefined) throw unauthorized('authentication required');
  return principal;
}

/**
 * Throws a 403 problem unless the request's key may speak as `partyId` (keys bound to a party may only speak
 * as that party; unbound keys speak as anyone).
 *
 * @example
 * ```ts
 * assertSpeaksAs(request, request.body.claimant.id);
 * ```
 */
export function assertSpeaksAs(request: FastifyRequest, partyId: string): void {
  const { party, keyId } = principalOf(request);
  if (party !== undefined && party !== partyId) {
    throw forbidden('party-mismatch', `key ${keyId} may only speak as ${party}, not as ${partyId}`);
  }
}

/** Throws a 403 problem unless the request's key holds `scope`. */
export function assertScope(request: FastifyRequest, scope: Scope): void {
  const principal = principalOf(request);
  if (!hasScope(principal, scope)) {
    throw forbidden('insufficient-scope', `key ${principal.keyId} lacks the scope ${scope}`);
  }
}

/**
 * A preHandler that needs `scope`, for routes that prefer it to `config: { scope }`.
 *
 * @example
 * ```ts
 * app.get('/v1/things', { preHandler: requireScope('read') }, handler);
 * ```
 */
export function requireScope(scope: Scope): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request) => assertScope(request, scope);
}

/**
 * Bearer-key authentication for every route under `/v1` (401 problem with `WWW-Authenticate: Bearer`
 * otherwise), and the route's `config.scope` checked (403). Routes outside `/v1` (`/health`, `/docs`) are
 * open, and so is a `/v1` route with `config: { public: true }`. A `/v1` route without `config.scope` only needs
 * a valid key.
 *
 * @example
 * ```ts
 * await app.register(authPlugin, { keys: state.keys });
 * app.post('/v1/claims', { config: { scope: 'claims:write' } }, handler);
 * ```
 */
export const authPlugin = fp<AuthPluginOptions>(
  async (app, { keys }) => {
    app.decorateRequest('principal', undefined);
    app.addHook('onRequest', async (request) => {
      if (!isProtected(request) || request.routeOptions.config.public === true) return;
      const header = request.headers.authorization;
      const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
      if (token === undefined) throw unauthorized('an Authorization: Bearer <key> header is required');
      const principal = await keys.verify(token);
      if (principal === undefined) throw unauthorized('the key is unknown or revoked');
      request.principal = principal;
      const scope = request.routeOptions.config.scope;
      if (scope !== undefined) assertScope(request, scope);
    });
  },
  { name: '@ledger/http/auth', fastify: '5.x' },
);
