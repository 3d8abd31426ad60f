import type { LedgerConfig } from '@ledger/config';
import {
  type ApiKeys,
  authPlugin,
  createHttpApp,
  healthRoutes,
  LedgerMetrics,
  metricsPlugin,
  rateLimitPlugin,
  registerOpenApi,
  type StateStore,
} from '@ledger/http';
import type { LedgerIntegrity } from '@ledger/integrity';
import type { LedgerQueries } from '@ledger/projections';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { integrityRoutes } from './integrity.routes.js';
import { queryRoutes } from './query.routes.js';
import { type SubscriptionsRoutesOptions, subscriptionsRoutes } from './subscriptions.routes.js';

export interface QueryAppDeps {
  readonly queries: LedgerQueries;
  readonly state: StateStore;
  readonly config: LedgerConfig;
  readonly logger: Logger;
  /** The process's metrics, served at `/metrics` (default: a fresh `LedgerMetrics` for service `query`). */
  readonly metrics?: LedgerMetrics;
  /** Heartbeat and slow-consumer limits of `GET /v1/subscriptions/:topic` (defaults otherwise). */
  readonly subscriptions?: Omit<SubscriptionsRoutesOptions, 'queries'>;
  /** Serves `/v1/integrity…` when given (it reads the event store, which the other read routes do not). */
  readonly integrity?: LedgerIntegrity;
  /** Where API keys live; default `state.keys` (state.db). `EventStoreKeys` where nodes share only the store. */
  readonly keys?: Pick<ApiKeys, 'verify'>;
  /** What `/ready` answers (default: always ready); `readyOnceCaughtUp` for a node with its own read models. */
  readonly ready?: () => boolean | Promise<boolean>;
}

/**
 * The query service on its own: the read routes and subscriptions with auth and the per-key rate limit
 * (`config.rateLimit`), OpenAPI at `/docs` and health checks (`deps.ready` decides `/ready`; the projector, in
 * this process or another, keeps the read models current).
 *
 * @example
 * const app = await buildQueryApp({ queries, state, config, logger });
 * await app.listen({ port: config.port, host: config.host });
 */
export async function buildQueryApp(deps: QueryAppDeps): Promise<FastifyInstance> {
  const app = createHttpApp({ logger: deps.logger });
  const metrics = deps.metrics ?? new LedgerMetrics({ service: 'query' });
  await app.register(metricsPlugin, { metrics });
  await registerOpenApi(app, { title: 'Attribution Ledger: query', version: '1.0.0' });
  await app.register(healthRoutes, { ready: deps.ready ?? (() => true) });
  await app.register(authPlugin, { keys: deps.keys ?? deps.state.keys });
  await app.register(rateLimitPlugin, { max: deps.config.rateLimit });
  await app.register(queryRoutes, { queries: deps.queries, config: deps.config });
  await app.register(subscriptionsRoutes, {
    consistencyWaitMs: deps.config.consistencyWaitMs,
    ...deps.subscriptions,
    queries: deps.queries,
    metrics,
  });
  if (deps.integrity !== undefined) await app.register(integrityRoutes, { integrity: deps.integrity });
  return app;
}
