import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import t from 'tap';
import { eventStoreContract } from './event-store-contract.js';

const child = fileURLToPath(new URL('./sqlite-appender.child.ts', import.meta.url));

for (const writer of ['worker', 'main-thread'] as const) {
  eventStoreContract(t, {
    name: `sqlite (${writer} writer)`,
    sealsMetadata: true,
    open: async () => {
      const path = join(t.testdir(), `ledger-${Math.random().toString(36).slice(2)}.db`);
      const handles: SqliteEventStore[] = [];
      const open = async () => {
        const store = await SqliteEventStore.open({ path, writer, pollIntervalMs: 10 });
        handles.push(store);
        return store;
      };
      const store = await open();
      return {
        store,
        openAnother: open,
        reopen: async () => {
          await store.close();
          return open();
        },
        // The child runs with this process's loader flags, so it loads TypeScript the way the tests do.
        spawnAppender: () =>
          spawn(process.execPath, [...process.execArgv, child, path, writer], {
            stdio: ['ignore', 'pipe', 'inherit'],
          }),
        dispose: async () => {
          await Promise.all(handles.map((handle) => handle.close()));
        },
      };
    },
  });
}
