import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { ReadModels, rebuild } from '@ledger/projections';
import type { Logger } from 'pino';

export interface RebuildProgress {
  readonly done: number;
  readonly total: number;
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
  force = false,
): Promise<RebuildProgress> {
  const store = await SqliteEventStore.open({ path: join(dataDir, 'events.db') });
  const readModels = ReadModels.open(join(dataDir, 'read.db'));
  let last: RebuildProgress = { done: 0, total: 0 };
  try {
    await rebuild({
      store,
      readModels,
      logger,
      force,
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
