import type { LedgerConfig } from '@ledger/config';
import type { EventStore } from '@ledger/event-store';
import {
  type ApiKeys,
  adminKeysRoutes,
  authPlugin,
  createHttpApp,
  type HttpApp,
  healthRoutes,
  type IdempotencyRecords,
  LedgerMetrics,
  metricsPlugin,
  rateLimitPlugin,
  registerOpenApi,
  type StateStore,
} from '@ledger/http';
import type { FastifyBaseLogger } from 'fastify';
import { ingestRoutes } from './ingest.routes.js';

export interface IngestAppDeps {
  readonly store: EventStore;
  readonly state: StateStore;
  /** Where API keys live; default `state.keys` (state.db). `EventStoreKeys` where nodes share only the store. */
  readonly keys?: ApiKeys;
  /** Where idempotency records live; default `state.idempotency` (see `IngestRoutesOptions`). */
  readonly idempotency?: IdempotencyRecords;
  /** `rateLimit`: requests per minute per non-admin key (`LEDGER_RATE_LIMIT`). */
  readonly config: Pick<LedgerConfig, 'idempotencyTtlMs' | 'rateLimit'>;
  readonly logger: FastifyBaseLogger;
  /**
   * The process's metrics, served at `/metrics`; appends through `ingestRoutes` are counted and timed. Default: a
   * fresh `LedgerMetrics` for service `ingest`.
   */
  readonly metrics?: LedgerMetrics;
  /** The server clock for `recordedAt`; default `() => new Date()`. */
  readonly clock?: () => Date;
}

/** The ingest service's API version, as shown in its OpenAPI document. */
export const INGEST_API_VERSION = '1.0.0';

/**
 * The ingest service as a fastify app: `createHttpApp` + `/metrics` + OpenAPI (`/docs`) + auth + per-key rate
 * limit + `/health`, `/ready` + `ingestRoutes` + `adminKeysRoutes` (ingest owns the writes, key management included).
 * Tests call it with `app.inject`; `main.ts` listens.
 *
 * @example
 * ```ts
 * const app = await buildIngestApp({ store, state, config, logger });
 * await app.listen({ host: config.host, port: config.port });
 * ```
 */
export async function buildIngestApp(deps: IngestAppDeps): Promise<HttpApp> {
  const app = createHttpApp({ logger: deps.logger });
  const metrics = deps.metrics ?? new LedgerMetrics({ service: 'ingest' });
  const keys = deps.keys ?? deps.state.keys;
  await app.register(metricsPlugin, { metrics });
  await registerOpenApi(app, { title: 'Attribution Ledger — ingest', version: INGEST_API_VERSION });
  await app.register(authPlugin, { keys });
  await app.register(rateLimitPlugin, { max: deps.config.rateLimit });
  await app.register(healthRoutes);
  await app.register(adminKeysRoutes, { keys });
  await app.register(ingestRoutes, {
    store: metrics.instrumentStore(deps.store),
    state: deps.state,
    config: deps.config,
    ...(deps.idempotency === undefined ? {} : { idempotency: deps.idempotency }),
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
  });
  return app;
}
