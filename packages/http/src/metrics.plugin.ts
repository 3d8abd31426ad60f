import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { LedgerMetrics } from './metrics.js';

export interface MetricsPluginOptions {
  /** The process's metrics: one `LedgerMetrics` per process, shared by everything it hosts. */
  readonly metrics: LedgerMetrics;
}

/**
 * `GET /metrics` in the Prometheus text format, and a histogram of every request of the app
 * (`ledger_http_request_duration_seconds` by method, route pattern and status code). Served without a key, like
 * `/health`: scrapers carry no bearer keys, the figures hold no ledger data (route patterns, never raw URLs,
 * actor ids or key ids), and the port binds to `HOST` (127.0.0.1 by default). Register it first, right after
 * `createHttpApp`, so that its hook sees every route.
 *
 * @example
 * ```ts
 * const metrics = new LedgerMetrics({ service: 'query' });
 * await app.register(metricsPlugin, { metrics });
 * ```
 */
const plugin: FastifyPluginAsync<MetricsPluginOptions> = async (app, { metrics }) => {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest(
      request.method,
      request.routeOptions.url,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await metrics.scrape();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
};

export const metricsPlugin = fp(plugin, { name: 'ledger-metrics', fastify: '5.x' });
