import { mkdirSync } from 'node:fs';
import { ConfigError, createLogger, loadConfig, openEventStore } from '@ledger/config';
import { createHttpApp, type HttpApp, healthRoutes, LedgerMetrics, metricsPlugin } from '@ledger/http';
import type { DestinationStream } from 'pino';
import { type RelayDeps, type RunningRelay, startRelay } from './start-relay.js';

export interface RelayProcess {
  readonly app: HttpApp;
  readonly relay: RunningRelay;
  /** Where `/health` and `/ready` listen, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Closes the HTTP server, stops the relay, then closes the event store. */
  close(): Promise<void>;
}

/**
 * The relay as its own process: `<dataDir>/events.db` published to `KAFKA_BROKERS`, checkpoint in
 * `<dataDir>/relay.db`, `GET /health`, `GET /ready` (ready while it publishes) and `GET /metrics` (published,
 * lag, state) on `PORT`. Throws
 * `ConfigError` on a bad environment or when `KAFKA_BROKERS` is not set.
 *
 * @example
 * ```ts
 * const running = await runRelay(process.env);
 * process.once('SIGTERM', () => void running.close());
 * ```
 */
export async function runRelay(
  env: NodeJS.ProcessEnv,
  logDestination?: DestinationStream,
  tuning?: RelayDeps['tuning'],
): Promise<RelayProcess> {
  const config = loadConfig(env);
  const problems = [];
  if (config.kafkaBrokers.length === 0) {
    problems.push({
      variable: 'KAFKA_BROKERS',
      message: 'is required: the relay publishes to these brokers',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const logger = createLogger(config, 'relay', logDestination);
  mkdirSync(config.dataDir, { recursive: true });
  const store = await openEventStore(config);
  const app = createHttpApp({ logger });
  const metrics = new LedgerMetrics({ service: 'relay' });
  await app.register(metricsPlugin, { metrics });
  let relay: RunningRelay | undefined;
  await app.register(healthRoutes, { ready: () => relay?.relay.status().state === 'publishing' });
  let url: string;
  try {
    url = await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close();
    await store.close();
    throw error;
  }
  // Started once listening succeeded, so that a failed start leaves no lease behind.
  relay = startRelay({
    store,
    dataDir: config.dataDir,
    config,
    logger: logger.child({ component: 'relay' }),
    ...(tuning === undefined ? {} : { tuning }),
  });
  const running = relay;
  metrics.watchRelay(running.relay, store);
  logger.info({ url, dataDir: config.dataDir }, 'relay listening');
  let closing: Promise<void> | undefined;
  return {
    app,
    relay: running,
    url,
    close() {
      closing ??= (async () => {
        await app.close();
        await running.close();
        await store.close();
      })();
      return closing;
    },
  };
}
