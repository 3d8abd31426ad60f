/**
 * Crash-safety child: appends to the store at argv[2] from eight concurrent loops (three events per append,
 * explicit expected revisions) and prints one `ack` line per acknowledged append, until it is killed.
 */
import { randomUUID } from 'node:crypto';
import { SqliteEventStore } from '@ledger/event-store-sqlite';

const [path, writer] = process.argv.slice(2) as [string, 'worker' | 'main-thread'];
const store = await SqliteEventStore.open({ path, writer });

async function appender(loop: number): Promise<never> {
  const revisions = new Map<string, bigint>();
  for (let n = 0; ; n += 1) {
    const streamId = `crash-${loop}-${n % 16}`;
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const result = await store.appendToStream(
      streamId,
      ids.map((id, i) => ({ id, type: 'Crash', data: { loop, n, i, pad: 'x'.repeat(200) } })),
      { expectedRevision: revisions.get(streamId) ?? 'no_stream' },
    );
    revisions.set(streamId, result.nextExpectedRevision);
    process.stdout.write(
      `ack ${JSON.stringify({ streamId, ids, nextExpectedRevision: String(result.nextExpectedRevision), position: String(result.position.commit) })}\n`,
    );
  }
}

await Promise.all(Array.from({ length: 8 }, (_, loop) => appender(loop)));
