import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpProblem, ProblemDetails } from './http-problem.js';

export interface HealthRoutesOptions {
  /** Whether the service can serve (stores open, projections caught up); default always ready. */
  readonly ready?: () => boolean | Promise<boolean>;
}

/**
 * `GET /health` (liveness: always 200 `{ status: 'ok' }`) and `GET /ready` (200 `{ status: 'ready' }`, or a
 * 503 problem with `Retry-After`). Neither needs a key.
 *
 * @example
 * ```ts
 * await app.register(healthRoutes, { ready: () => runtime.running });
 * ```
 */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, options) => {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get(
    '/health',
    { schema: { hide: true, response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );
  routes.get(
    '/ready',
    {
      schema: {
        hide: true,
        response: { 200: z.object({ status: z.literal('ready') }), 503: ProblemDetails },
      },
    },
    async () => {
      if (options.ready !== undefined && !(await options.ready())) {
        throw new HttpProblem(503, 'not-ready', 'Service Unavailable', 'the service is not ready yet', {
          headers: { 'retry-after': '1' },
        });
      }
      return { status: 'ready' as const };
    },
  );
};
