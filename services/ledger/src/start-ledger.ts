import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type LedgerConfig, openEventStore } from '@ledger/config';
import {
  adminKeysRoutes,
  authPlugin,
  createHttpApp,
  EventStoreIdempotency,
  EventStoreKeys,
  healthRoutes,
  LedgerMetrics,
  metricsPlugin,
  rateLimitPlugin,
  registerOpenApi,
  StateStore,
} from '@ledger/http';
import { ingestRoutes } from '@ledger/ingest';
import { LedgerIntegrity } from '@ledger/integrity';
import { LedgerQueries } from '@ledger/projections';
import { ProjectorThread } from '@ledger/projector';
import { integrityRoutes, queryRoutes, subscriptionsRoutes } from '@ledger/query';
import { type RunningRelay, startRelay } from '@ledger/relay';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export interface RunningLedger {
  readonly app: FastifyInstance;
  /** Where it listens, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The bootstrap admin key when this start generated it (to be shown once), else undefined. */
  readonly generatedAdminKey: string | undefined;
  /** The Kafka relay, running when `KAFKA_BROKERS` is set. */
  readonly relay: RunningRelay | undefined;
  /** Drains requests, stops the projector and the relay, closes the stores. */
  close(): Promise<void>;
}

/**
 * The whole ledger in one process on the embedded store: ingest and query routes on one port, the projector
 * folding the store into the read models beside them, and the Kafka relay when `KAFKA_BROKERS` is set. Every
 * piece is the same one that runs alone.
 *
 * @example
 * const ledger = await startLedger(loadConfig(), logger);
 * console.log(`listening on ${ledger.url}`);
 */
export async function startLedger(config: LedgerConfig, logger: Logger): Promise<RunningLedger> {
  mkdirSync(config.dataDir, { recursive: true });
  // One registry for the whole process: every piece it hosts reports into it, served at /metrics.
  const metrics = new LedgerMetrics({ service: 'ledger' });
  let projector: ProjectorThread | undefined;
  const store = await openEventStore(config, {
    sqlite: {
      onCommit: (info) => {
        metrics.recordCommit(info);
        projector?.committed();
      },
    },
  });
  const state = StateStore.open(join(config.dataDir, 'state.db'));
  const { key: generatedAdminKey } = await state.keys.ensureBootstrapAdmin({
    adminKey: config.adminKey,
    dataDir: config.dataDir,
  });
  // In a thread of its own: folding events inline took a fifth or more of the HTTP routes' event loop.
  projector = await ProjectorThread.start({ config, logger: logger.child({ component: 'projector' }) });
  metrics.watchProjector(projector, store);
  const queries = LedgerQueries.open(join(config.dataDir, 'read.db'), { runtime: projector });

  // With EventStoreDB, other nodes may share the store but not this data dir: keys live in the store.
  const keys =
    config.store === 'eventstoredb' ? new EventStoreKeys(store, { local: state.keys }) : state.keys;
  const app = createHttpApp({ logger });
  await app.register(metricsPlugin, { metrics });
  await registerOpenApi(app, { title: 'Attribution Ledger', version: '1.0.0' });
  await app.register(healthRoutes, { ready: () => true });
  await app.register(authPlugin, { keys });
  // After auth (the limit is per key id), before the routes it limits.
  await app.register(rateLimitPlugin, { max: config.rateLimit });
  await app.register(adminKeysRoutes, { keys });
  await app.register(ingestRoutes, {
    store: metrics.instrumentStore(store),
    state,
    config,
    ...(config.store === 'eventstoredb'
      ? { idempotency: new EventStoreIdempotency(store, { ttlMs: config.idempotencyTtlMs }) }
      : {}),
  });
  await app.register(queryRoutes, { queries, config });
  await app.register(subscriptionsRoutes, { queries, metrics, consistencyWaitMs: config.consistencyWaitMs });
  await app.register(integrityRoutes, {
    integrity: LedgerIntegrity.open({ store, dataDir: config.dataDir }),
  });

  let relay: RunningRelay | undefined;
  const closeAll = async () => {
    await app.close();
    await projector.close();
    await relay?.close();
    queries.close();
    state.close();
    await store.close();
  };
  let url: string;
  try {
    url = await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // A port in use, or a host that does not exist here: release the stores before reporting it.
    await closeAll();
    throw error;
  }
  // Last, once nothing else can fail: a relay started earlier would hold its lease through a failed start.
  if (config.kafkaBrokers.length > 0) {
    relay = startRelay({
      store,
      dataDir: config.dataDir,
      config,
      logger: logger.child({ component: 'relay' }),
    });
    metrics.watchRelay(relay.relay, store);
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    generatedAdminKey,
    relay,
    close() {
      closing ??= closeAll();
      return closing;
    },
  };
}
