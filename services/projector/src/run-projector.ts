import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, loadConfig, openEventStore } from '@ledger/config';
import { createHttpApp, type HttpApp, healthRoutes, LedgerMetrics, metricsPlugin } from '@ledger/http';
import { ReadModels } from '@ledger/projections';
import { CHECKPOINTER_FAILED } from '@ledger/wal-checkpointer';
import type { DestinationStream } from 'pino';
import { type RunningProjector, startProjector } from './start-projector.js';

export interface ProjectorProcess {
  readonly app: HttpApp;
  readonly projector: RunningProjector;
  /** Where `/health` and `/ready` listen, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Closes the HTTP server, stops the runtime, then closes read.db and the event store. */
  close(): Promise<void>;
}

/**
 * The projector as its own process: `<dataDir>/events.db` folded into `<dataDir>/read.db`, with `GET /health`
 * and `GET /ready` (ready while the runtime runs) and `GET /metrics` (lag, batch sizes) on `PORT`. Throws `ConfigError` on a bad environment.
 *
 * @example
 * ```ts
 * const running = await runProjector(process.env);
 * process.once('SIGTERM', () => void running.close());
 * ```
 */
export async function runProjector(
  env: NodeJS.ProcessEnv,
  logDestination?: DestinationStream,
): Promise<ProjectorProcess> {
  const config = loadConfig(env);
  const logger = createLogger(config, 'projector', logDestination);
  mkdirSync(config.dataDir, { recursive: true });
  const store = await openEventStore(config);
  const readModels = ReadModels.open(join(config.dataDir, 'read.db'), {
    backgroundCheckpoints: { onError: (error) => logger.warn({ err: error }, CHECKPOINTER_FAILED) },
  });
  const projector = await startProjector({
    store,
    readModels,
    logger: logger.child({ component: 'projector' }),
  });
  const metrics = new LedgerMetrics({ service: 'projector' });
  metrics.watchProjector(projector.runtime, store);
  const app = createHttpApp({ logger });
  await app.register(metricsPlugin, { metrics });
  await app.register(healthRoutes, { ready: () => projector.runtime.running });
  const url = await app.listen({ port: config.port, host: config.host });
  logger.info({ url, dataDir: config.dataDir }, 'projector listening');
  let closing: Promise<void> | undefined;
  return {
    app,
    projector,
    url,
    close() {
      closing ??= (async () => {
        await app.close();
        await projector.close();
        await readModels.close();
        await store.close();
      })();
      return closing;
    },
  };
}
