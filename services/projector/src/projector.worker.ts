/**
 * The projector thread of the all-in-one ledger (`ProjectorThread`): its own store connection and read.db,
 * the same `ProjectionRuntime` the projector process runs, and messages to the parent instead of an HTTP port.
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { openEventStore } from '@ledger/config';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { ReadModels } from '@ledger/projections';
import { CHECKPOINTER_FAILED } from '@ledger/wal-checkpointer';
import { pino } from 'pino';
import type { FromProjectorThread, ProjectorThreadData, ToProjectorThread } from './projector-thread.js';
import { startProjector } from './start-projector.js';

const port = parentPort!;
const data = workerData as ProjectorThreadData;
const post = (message: FromProjectorThread) => port.postMessage(message);

// Each line goes to the parent, which logs it through its own logger (destination, redaction, base fields).
const logger = pino(
  { level: data.logLevel, base: null, timestamp: false },
  { write: (line: string) => post({ kind: 'log', line }) },
);

const store = await openEventStore(data.config);
const readModels = ReadModels.open(join(data.config.dataDir, 'read.db'), {
  backgroundCheckpoints: { onError: (error) => logger.warn({ err: error }, CHECKPOINTER_FAILED) },
});
const projector = await startProjector({
  store,
  readModels,
  logger,
  ...(data.batchSize === undefined ? {} : { batchSize: data.batchSize }),
});
projector.runtime.onProgress((position, batch) => post({ kind: 'progress', position, batch }));
post({ kind: 'started', position: projector.runtime.position() });

port.on('message', (message: ToProjectorThread) => {
  if (message.kind === 'committed') {
    if (store instanceof SqliteEventStore) store.checkForCommits();
    return;
  }
  port.removeAllListeners('message');
  void (async () => {
    await projector.close();
    await readModels.close();
    await store.close();
    post({ kind: 'stopped', position: projector.runtime.position() });
    port.close();
  })();
});
