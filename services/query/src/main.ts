#!/usr/bin/env node
/**
 * The query service alone: `PORT=8082 LEDGER_DATA_DIR=./data node services/query/dist/main.js`. It reads the
 * read models of the data dir, which a projector (`services/projector`) keeps current, and the event store for
 * the integrity routes. `/ready` answers 503 until the read models have reached the store's last position as
 * it was at start (a node refolding from zero stays out of its load balancer's pool). SIGTERM/SIGINT drain
 * requests, close the stores and exit 0.
 */
import { join } from 'node:path';
import { createLogger, loadConfig, openEventStore } from '@ledger/config';
import { EventStoreKeys, runUntilSignalled, StateStore } from '@ledger/http';
import { LedgerIntegrity } from '@ledger/integrity';
import { LedgerQueries } from '@ledger/projections';
import { buildQueryApp } from './build-query-app.js';
import { readyOnceCaughtUp } from './catch-up-readiness.js';

await runUntilSignalled('query', async () => {
  const config = loadConfig(process.env);
  const logger = createLogger(config, 'query');
  const state = StateStore.open(join(config.dataDir, 'state.db'));
  await state.keys.ensureBootstrapAdmin({ adminKey: config.adminKey, dataDir: config.dataDir });
  const queries = LedgerQueries.open(join(config.dataDir, 'read.db'));
  // The integrity routes recompute from the events themselves, not from the read models; with EventStoreDB
  // the API keys created through any ingest node live there too.
  const store = await openEventStore(config);
  const integrity = LedgerIntegrity.open({ store, dataDir: config.dataDir });
  const keys = config.store === 'eventstoredb' ? new EventStoreKeys(store, { local: state.keys }) : undefined;
  const app = await buildQueryApp({
    queries,
    state,
    config,
    logger,
    integrity,
    ready: await readyOnceCaughtUp(store, queries),
    ...(keys === undefined ? {} : { keys }),
  });
  const url = await app.listen({ port: config.port, host: config.host });
  logger.info({ url }, 'query service listening');
  return {
    app,
    async close() {
      await app.close();
      queries.close();
      state.close();
      await store.close();
    },
  };
});
