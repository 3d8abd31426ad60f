import { join } from 'node:path';
import { type LedgerConfig, openEventStore } from '@ledger/config';
import { ReadModels, rebuild } from '@ledger/projections';
import type { Logger } from 'pino';

export interface RebuildProgress {
  readonly done: number;
  readonly total: number;
}

export interface RebuildOptions {
  /** Rebuild beside a live projector (it then folds again from the rebuilt checkpoint). Default `false`. */
  readonly force?: boolean;
  /**
   * The event store to replay, as the services choose it (`LEDGER_STORE`, `EVENTSTOREDB_URL`): the read models
   * must be folded from the store the projector follows, or its checkpoint would point into another log.
   * Default: the embedded store in the data dir.
   */
  readonly store?: Pick<LedgerConfig, 'store' | 'eventStoreDbUrl'>;
}

/**
 * Rebuilds the read models of a data dir from zero by replaying the event store. It refuses (error code
 * `projector-running`) while a projector holds a fresh lease on the read models: stop the ledger, or at least
 * its projector, first. `force` overrides that; a live projector then folds again from the rebuilt checkpoint.
 */
export async function runRebuild(
  dataDir: string,
  logger: Logger,
  onProgress: (progress: RebuildProgress) => void,
  options: RebuildOptions = {},
): Promise<RebuildProgress> {
  const store = await openEventStore({ store: 'sqlite', ...options.store, dataDir });
  const readModels = ReadModels.open(join(dataDir, 'read.db'));
  let last: RebuildProgress = { done: 0, total: 0 };
  try {
    await rebuild({
      store,
      readModels,
      logger,
      force: options.force ?? false,
      onProgress: (progress) => {
        last = progress;
        onProgress(progress);
      },
    });
    return last;
  } finally {
    await readModels.close();
    await store.close();
  }
}
