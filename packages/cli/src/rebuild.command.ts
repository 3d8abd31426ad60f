import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { ReadModels, rebuild } from '@ledger/projections';
import type { Logger } from 'pino';

export interface RebuildProgress {
  readonly done: number;
  readonly total: number;
}

/**
 * Rebuilds the read models of a data dir from zero by replaying the event store. Run it while the ledger (or
 * at least its projector) is stopped: two processes folding into one read.db would interleave.
 */
export async function runRebuild(
  dataDir: string,
  logger: Logger,
  onProgress: (progress: RebuildProgress) => void,
): Promise<RebuildProgress> {
  const store = await SqliteEventStore.open({ path: join(dataDir, 'events.db') });
  const readModels = ReadModels.open(join(dataDir, 'read.db'));
  let last: RebuildProgress = { done: 0, total: 0 };
  try {
    await rebuild({
      store,
      readModels,
      logger,
      onProgress: (progress) => {
        last = progress;
        onProgress(progress);
      },
    });
    return last;
  } finally {
    readModels.close();
    await store.close();
  }
}
