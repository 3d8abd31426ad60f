import type { LedgerConfig } from '@ledger/config';
import type { EventStore } from '@ledger/event-store';
import {
  authPlugin,
  createHttpApp,
  type HttpApp,
  healthRoutes,
  registerOpenApi,
  type StateStore,
} from '@ledger/http';
import type { FastifyBaseLogger } from 'fastify';
import { ingestRoutes } from './ingest.routes.js';

export interface IngestAppDeps {
  readonly store: EventStore;
  readonly state: StateStore;
  readonly config: Pick<LedgerConfig, 'idempotencyTtlMs'>;
  readonly logger: FastifyBaseLogger;
  /** The server clock for `recordedAt`; default `() => new Date()`. */
  readonly clock?: () => Date;
}

/** The ingest service's API version, as shown in its OpenAPI document. */
export const INGEST_API_VERSION = '1.0.0';

/**
 * The ingest service as a fastify app: `createHttpApp` + OpenAPI (`/docs`) + auth + `/health`, `/ready` +
 * `ingestRoutes`. Tests call it with `app.inject`; `main.ts` listens.
 *
 * @example
 * ```ts
 * const app = await buildIngestApp({ store, state, config, logger });
 * await app.listen({ host: config.host, port: config.port });
 * ```
 */
export async function buildIngestApp(deps: IngestAppDeps): Promise<HttpApp> {
  const app = createHttpApp({ logger: deps.logger });
  await registerOpenApi(app, { title: 'Attribution Ledger — ingest', version: INGEST_API_VERSION });
  await app.register(authPlugin, { keys: deps.state.keys });
  await app.register(healthRoutes);
  await app.register(ingestRoutes, {
    store: deps.store,
    state: deps.state,
    config: deps.config,
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
  });
  return app;
}
