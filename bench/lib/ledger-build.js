/**
 * Child processes of the `rebuild` and `queries` suites, one job each (over IPC), so that their memory and
 * timings are their own:
 *
 * - `{ job: 'generate', dir, events?, claims?, shape, inFlight }`: writes a ledger into `dir/events.db` through
 *   `SqliteEventStore.appendToStream` (so every event is sealed into the hash chain as in production), one append
 *   per claim with its whole history, `inFlight` appends outstanding so that the store group commits them
 *   (hundreds per fsync). Stops at `events` events (the last history cut short) or at `claims` claims.
 * - `{ job: 'rebuild', dir }`: `runRebuild(dir)` from `@ledger/cli`, exactly what `ledger rebuild` runs,
 *   into `dir/read.db`.
 * - `{ job: 'ceiling', dir }`: the raw ceiling of a rebuild, every row of the events table read with
 *   better-sqlite3 `.iterate()` and `JSON.parse` of data and metadata.
 *
 * Each answers with its figures plus `rss` (after the job, after a GC when exposed) and `maxRss` (peak).
 */
import { join } from 'node:path';
import { runRebuild } from '@ledger/cli';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { claimHistory } from './ledger-events.js';

function memory() {
  globalThis.gc?.();
  return { rss: process.memoryUsage().rss, maxRss: process.resourceUsage().maxRSS * 1024 };
}

function report(message) {
  process.stderr.write(`    ${message}\n`);
}

async function generate({ dir, events: eventTarget, claims: claimTarget, shape, inFlight }) {
  const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
  const pending = new Set();
  let events = 0;
  let claims = 0;
  let failure;
  const started = performance.now();
  let nextReport = 100_000;
  try {
    for (;;) {
      if (eventTarget !== undefined && events >= eventTarget) break;
      if (claimTarget !== undefined && claims >= claimTarget) break;
      const history = claimHistory(claims, shape);
      const batch =
        eventTarget === undefined ? history.events : history.events.slice(0, eventTarget - events);
      claims += 1;
      events += batch.length;
      const append = store.appendToStream(history.stream, batch, { expectedRevision: 'no_stream' });
      pending.add(append);
      append.then(
        () => pending.delete(append),
        (error) => {
          failure ??= error;
        },
      );
      if (pending.size >= inFlight) await Promise.race(pending);
      if (failure !== undefined) throw failure;
      if (events >= nextReport) {
        report(`${events.toLocaleString('en-US')} events written`);
        nextReport += 100_000;
      }
    }
    await Promise.all(pending);
  } finally {
    await store.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { events, claims, seconds, ...memory() };
}

async function rebuild({ dir }) {
  const logger = pino({ level: 'silent' });
  const started = performance.now();
  let nextReport = 100_000;
  const progress = await runRebuild(dir, logger, ({ done }) => {
    if (done >= nextReport) {
      report(`rebuild: ${done.toLocaleString('en-US')} positions folded`);
      nextReport += 100_000;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const read = new Database(join(dir, 'read.db'), { readonly: true });
  let claims;
  try {
    claims = read.prepare('SELECT count(*) FROM claims').pluck().get();
  } finally {
    read.close();
  }
  return { events: progress.done, seconds, claims, ...memory() };
}

function ceiling({ dir }) {
  const db = new Database(join(dir, 'events.db'), { readonly: true });
  try {
    const statement = db.prepare(
      'SELECT position, event_id, stream_id, revision, type, data, metadata, created FROM events ORDER BY position',
    );
    const started = performance.now();
    let events = 0;
    for (const row of statement.iterate()) {
      const data = JSON.parse(row.data);
      const metadata = row.metadata === null ? undefined : JSON.parse(row.metadata);
      if (data !== undefined && metadata !== null) events += 1;
    }
    return { events, seconds: (performance.now() - started) / 1000, ...memory() };
  } finally {
    db.close();
  }
}

const JOBS = { generate, rebuild, ceiling };

process.once('message', (request) => {
  Promise.resolve()
    .then(() => JOBS[request.job](request))
    .then(
      (result) => process.send(result, () => process.exit(0)),
      (error) => process.send({ error: error.stack ?? String(error) }, () => process.exit(1)),
    );
});
