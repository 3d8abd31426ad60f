import { join } from 'node:path';
import type { EventStore } from '@ledger/event-store';
import { SqliteEventStore, type SqliteEventStoreOptions } from '@ledger/event-store-sqlite';
import type { LedgerConfig } from './load-config.js';

export interface OpenEventStoreOptions {
  /** Options for the embedded store (`LEDGER_STORE=sqlite`), e.g. a commit callback for metrics. */
  readonly sqlite?: Omit<SqliteEventStoreOptions, 'path'>;
  /** How long to wait for EventStoreDB to answer a first read before giving up (default 10 s). */
  readonly connectTimeoutMs?: number;
}

/** The store could not be reached at start: the message names the store and the URL, never a secret. */
export class EventStoreUnavailableError extends Error {
  readonly code = 'event-store-unavailable';
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * The one place a process turns `LEDGER_STORE` into an event-store adapter: the embedded SQLite store in
 * `<dataDir>/events.db`, or EventStoreDB at `EVENTSTOREDB_URL`. It lives in the config package because
 * every service already depends on it and it depends on no service, so no cycle can form; the EventStoreDB
 * client (gRPC) is imported only when chosen. An EventStoreDB that does not answer a first read within
 * `connectTimeoutMs` fails the start with a message naming the URL, rather than failing the first request.
 *
 * @example
 * const store = await openEventStore(loadConfig(process.env));
 */
export async function openEventStore(
  config: Pick<LedgerConfig, 'store' | 'dataDir' | 'eventStoreDbUrl'>,
  options: OpenEventStoreOptions = {},
): Promise<EventStore> {
  if (config.store === 'sqlite') {
    return SqliteEventStore.open({ ...options.sqlite, path: join(config.dataDir, 'events.db') });
  }
  const url = config.eventStoreDbUrl;
  if (url === undefined)
    throw new EventStoreUnavailableError('LEDGER_STORE=eventstoredb needs EVENTSTOREDB_URL');
  const { EventStoreDbEventStore } = await import('@ledger/event-store-eventstoredb');
  const store = new EventStoreDbEventStore({ connectionString: url });
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        for await (const _ of store.readAll({ direction: 'backwards', maxCount: 1 })) break;
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    await store.close().catch(() => undefined);
    throw new EventStoreUnavailableError(
      `cannot reach EventStoreDB at ${redactUrl(url)} (EVENTSTOREDB_URL): ${(error as Error).message}`,
    );
  } finally {
    clearTimeout(timer);
  }
  return store;
}
