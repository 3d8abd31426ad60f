import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { principalOf } from './auth.plugin.js';
import { HttpProblem } from './http-problem.js';
import { hasScope } from './scopes.js';

export interface RateLimitPluginOptions {
  /** Requests per window per non-admin key (`LEDGER_RATE_LIMIT`). */
  readonly max: number;
  /** The window; default one minute (DESIGN §6: requests per minute). */
  readonly timeWindowMs?: number;
}

/** The window of `LEDGER_RATE_LIMIT`: one minute. */
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 60_000;

/** Requests without a principal (`/health`, `/ready`, `/docs`) and admin keys are never limited. */
function exempt(request: FastifyRequest): boolean {
  const principal = request.principal;
  return principal === undefined || hasScope(principal, 'admin');
}

/**
 * Per-key rate limiting (DESIGN §6): at most `max` requests per `timeWindowMs` for each non-admin key, counted
 * by key id; the request over the limit is a `429` problem (`rate-limited`) with `Retry-After` in seconds.
 * Admin keys and routes without a principal (`/health`, `/ready`, `/docs`) are exempt; requests refused by
 * auth (401, 403) are not counted.
 *
 * Counters live in process memory (`@fastify/rate-limit`'s local store): each process on a data dir limits
 * on its own, so with ingest and query run apart a key may make `max` requests per window to each.
 *
 * The limiter is a route-level `onRequest` hook, and fastify runs those after the instance's `onRequest`
 * hooks, so it sees the principal that `authPlugin` set. Register it after `authPlugin` (enforced) and before
 * the routes it should limit.
 *
 * @example
 * ```ts
 * await app.register(authPlugin, { keys: state.keys });
 * await app.register(rateLimitPlugin, { max: config.rateLimit });
 * await app.register(ingestRoutes, { store, state, config });
 * ```
 */
export const rateLimitPlugin = fp<RateLimitPluginOptions>(
  async (app, options) => {
    const windowMs = options.timeWindowMs ?? DEFAULT_RATE_LIMIT_WINDOW_MS;
    // @fastify/rate-limit quietly falls back to 1000 per minute on a bad value; a wrong limit must not start.
    for (const [name, value] of [
      ['max', options.max],
      ['timeWindowMs', windowMs],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`rateLimitPlugin: ${name} must be a positive integer, not ${value}`);
      }
    }
    await app.register(rateLimit, {
      max: options.max,
      timeWindow: windowMs,
      hook: 'onRequest',
      allowList: (request) => exempt(request),
      // @fastify/rate-limit computes the key before it consults allowList, so exempt requests without a
      // principal (/health) pass through here too and must not fail.
      keyGenerator: (request) => `key:${request.principal?.keyId ?? ''}`,
      errorResponseBuilder: (request, context) => {
        // ttl is what is left of the window in ms; a client should never be told to retry after 0 s.
        const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
        return new HttpProblem(
          429,
          'rate-limited',
          'Too Many Requests',
          `key ${principalOf(request).keyId} made more than ${context.max} requests in ` +
            `${windowMs / 1000} s; retry after ${seconds} s`,
          { headers: { 'retry-after': String(seconds) } },
        );
      },
    });
  },
  { name: '@ledger/http/rate-limit', fastify: '5.x', dependencies: ['@ledger/http/auth'] },
);
