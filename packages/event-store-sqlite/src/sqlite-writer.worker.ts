/**
 * The writer thread: owns the writer connection and commits appends in batches. Messages that arrive while
 * a commit (and its fsync) runs wait in the port and form the next batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type AppendRequest, BatchWriter } from './batch-writer.js';
import { openConnection } from './schema.js';
import {
  commitMeasured,
  type FromWriterThread,
  MAX_BATCH,
  type ToWriterThread,
  type WriterThreadData,
} from './writers.js';

const port = parentPort!;
const { path, integrity, busyTimeoutMs } = workerData as WriterThreadData;
const writer = new BatchWriter(openConnection(path, { role: 'writer', busyTimeoutMs }), { integrity });
let queue: Array<{ id: number; request: AppendRequest }> = [];
let scheduled = false;
let closing = false;

function flush(): void {
  scheduled = false;
  while (queue.length > 0) {
    const batch = queue.slice(0, MAX_BATCH);
    queue = queue.slice(batch.length);
    const { outcomes, info } = commitMeasured(
      writer,
      batch.map((item) => item.request),
    );
    const message: FromWriterThread = { kind: 'outcomes', ids: batch.map((item) => item.id), outcomes, info };
    port.postMessage(message);
  }
}

port.on('message', (message: ToWriterThread) => {
  if (message.kind === 'append') {
    queue.push({ id: message.id, request: message.request });
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    return;
  }
  if (!closing) {
    closing = true;
    flush();
    writer.close();
    port.postMessage({ kind: 'closed' } satisfies FromWriterThread);
    port.close();
  }
});
