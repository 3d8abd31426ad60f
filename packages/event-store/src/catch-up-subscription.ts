import type { RecordedEvent, Subscription } from './event-store.port.js';

/**
 * Tells waiting subscriptions that the log may have grown. `version` counts signals so that a reader can
 * tell whether a commit happened between its last read and the moment it starts to wait: it never sleeps
 * through a commit it has not read.
 */
export class CommitNotifier {
  #version = 0;
  #waiters: Array<() => void> = [];
  #closed = false;

  get version(): number {
    return this.#version;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Wakes every waiter. Called after each commit (and by cross-process polling). */
  signal(): void {
    this.#version += 1;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at once if a signal came after `seenVersion`, else at the next signal or at close. */
  waitAfter(seenVersion: number): Promise<void> {
    if (this.#closed || this.#version !== seenVersion) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Whether anybody waits: adapters poll for other processes' commits only while somebody does. */
  get hasWaiters(): boolean {
    return this.#waiters.length > 0;
  }

  close(): void {
    this.#closed = true;
    this.signal();
  }
}

/**
 * Reads the log strictly after `after` (a log-specific cursor: the last position scanned), in position order,
 * applying the subscription's filter to at most `limit` scanned entries. Returns the matching events, the
 * cursor to continue from (past everything scanned, matching or not, so a filter that matches nothing never
 * makes the next read start over), and whether more entries may be waiting already.
 */
export type ReadPageAfter<Cursor> = (
  after: Cursor,
  limit: number,
) => { events: RecordedEvent[]; next: Cursor; more: boolean };

const PAGE_SIZE = 512;

/**
 * A catch-up subscription over any log whose readers see a prefix of commit order (true of SQLite, whose
 * writers are serialised, and of an in-memory array). It only ever reads "events after the last one
 * scanned", so history and live events come from the same query: there is no hand-over to get wrong,
 * hence no gap and no duplicate.
 */
export function catchUpSubscription<Cursor>(
  start: Cursor,
  readPageAfter: ReadPageAfter<Cursor>,
  notifier: CommitNotifier,
): Subscription {
  let stopped = false;
  // The wait in progress, if any. Each wait gets its own one-shot promise, so a subscription that lives for
  // millions of commits accumulates no reactions on a long-lived promise.
  let wakeWaiting: (() => void) | undefined;

  async function* iterate(): AsyncGenerator<RecordedEvent> {
    let cursor = start;
    while (!stopped && !notifier.closed) {
      const seen = notifier.version;
      const page = readPageAfter(cursor, PAGE_SIZE);
      cursor = page.next;
      for (const event of page.events) {
        if (stopped) return;
        yield event;
      }
      if (!page.more && !stopped) {
        await new Promise<void>((resolve) => {
          wakeWaiting = resolve;
          void notifier.waitAfter(seen).then(resolve);
        });
        wakeWaiting = undefined;
      }
    }
  }

  const generator = iterate();
  return {
    [Symbol.asyncIterator]: () => generator,
    async unsubscribe(): Promise<void> {
      stopped = true;
      wakeWaiting?.();
    },
  };
}
