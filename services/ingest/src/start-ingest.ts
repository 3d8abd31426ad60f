import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, loadConfig, openEventStore } from '@ledger/config';
import {
  ADMIN_KEY_FILE,
  EventStoreIdempotency,
  EventStoreKeys,
  type HttpApp,
  LedgerMetrics,
  StateStore,
} from '@ledger/http';
import { buildIngestApp } from './build-ingest-app.js';

/** A running ingest service. */
export interface RunningIngest {
  readonly app: HttpApp;
  /** Drains in-flight requests (`app.close()`), then closes the event store and the state store. */
  close(): Promise<void>;
}

/**
 * Starts the ingest service from the environment: `<dataDir>/events.db`, `<dataDir>/state.db`, the bootstrap
 * admin key (printed once to `out` when just generated), listening on `HOST:PORT`.
 *
 * @throws ConfigError on a bad environment.
 * @example
 * ```ts
 * const ingest = await startIngest(process.env, process.stdout);
 * process.once('SIGTERM', () => void ingest.close());
 * ```
 */
export async function startIngest(
  env: NodeJS.ProcessEnv,
  out: { write(text: string): unknown },
): Promise<RunningIngest> {
  const config = loadConfig(env);
  const logger = createLogger(config, 'ingest');
  await mkdir(config.dataDir, { recursive: true });
  const metrics = new LedgerMetrics({ service: 'ingest' });
  const store = await openEventStore(config, { sqlite: { onCommit: metrics.recordCommit } });
  const state = StateStore.open(join(config.dataDir, 'state.db'), {
    idempotencyTtlMs: config.idempotencyTtlMs,
  });
  const closeStores = async () => {
    await store.close();
    state.close();
  };
  try {
    const admin = await state.keys.ensureBootstrapAdmin({
      adminKey: config.adminKey,
      dataDir: config.dataDir,
    });
    if (admin.key !== undefined) {
      out.write(
        `\nBootstrap admin key (shown once, kept in ${join(config.dataDir, ADMIN_KEY_FILE)} with mode 0600):\n` +
          `  ${admin.key}\n\n`,
      );
    }
    // Across machines (EventStoreDB) state.db is per node: idempotency records and API keys must live where
    // every node looks.
    const shared = config.store === 'eventstoredb';
    const app = await buildIngestApp({
      store,
      state,
      config,
      logger,
      metrics,
      ...(shared
        ? {
            idempotency: new EventStoreIdempotency(store, { ttlMs: config.idempotencyTtlMs }),
            keys: new EventStoreKeys(store, { local: state.keys }),
          }
        : {}),
    });
    await app.listen({ host: config.host, port: config.port });
    return {
      app,
      close: async () => {
        await app.close();
        await closeStores();
      },
    };
  } catch (error) {
    await closeStores();
    throw error;
  }
}
