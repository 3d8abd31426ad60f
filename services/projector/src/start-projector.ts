import type { EventStore } from '@ledger/event-store';
import { ProjectionRuntime, type ReadModels } from '@ledger/projections';
import type { Logger } from 'pino';

export interface ProjectorDeps {
  readonly store: EventStore;
  readonly readModels: ReadModels;
  readonly logger: Logger;
  /** Events per read.db transaction (default 500). */
  readonly batchSize?: number;
}

export interface RunningProjector {
  readonly runtime: ProjectionRuntime;
  /** Stops the runtime after its batch in flight. The store and the read models stay open: they are the caller's. */
  close(): Promise<void>;
}

/**
 * Starts folding `store` into `readModels` in the background, from their checkpoint.
 *
 * @example
 * ```ts
 * const projector = await startProjector({ store, readModels, logger });
 * const queries = LedgerQueries.open(readDbPath, { runtime: projector.runtime });
 * await projector.close();
 * ```
 */
export async function startProjector(deps: ProjectorDeps): Promise<RunningProjector> {
  const runtime = new ProjectionRuntime({
    store: deps.store,
    readModels: deps.readModels,
    logger: deps.logger,
    ...(deps.batchSize === undefined ? {} : { batchSize: deps.batchSize }),
  });
  runtime.start();
  deps.logger.info({ position: runtime.position() }, 'projector started');
  return {
    runtime,
    async close() {
      await runtime.stop();
      deps.logger.info({ position: runtime.position() }, 'projector stopped');
    },
  };
}
