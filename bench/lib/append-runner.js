/**
 * One append measurement of the `emmett` suite in a process of its own (`fork`), so that every path starts
 * from the same clean process, Emmett's async driver (sqlite3, with its own thread pool) never shares an
 * event loop with our store, and whatever Emmett prints to stdout (its `withTransaction` logs every error it
 * rethrows) does not land in the suite's tables: the suite reads this process's stdout and counts it.
 *
 * Job (over IPC): `{ path: 'ours' | 'ours-unsealed' | 'emmett-store' | 'emmett-low-level', file, appenders, appends, warmUp,
 * streams, timeoutMs, emmettDir }`. Each append is one `ClaimMade` event to the next stream, round-robin, with
 * that stream's expected revision. Answers `{ seconds, latencies, acknowledged, failures, hung, uncaught,
 * settings }`: `acknowledged` lists `[stream, position-in-stream]` of every append that resolved, so the suite
 * can look for each one in the file after this process has exited. Not from this process: a better-sqlite3
 * connection here would carry a second copy of SQLite beside sqlite3's, and SQLite's POSIX locks are per
 * process, so one copy closing its file drops the other's locks (a reader opened here saw stale data and then
 * "database disk image is malformed" while Emmett's connections came and went).
 */
import { format } from 'node:util';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { claimMadeEvent, claimStreams } from './claim-events.js';
import { loadEmmettSqlite } from './emmett-install.js';

/** Errors that escape the peer's callbacks (a driver 'error' event with no listener) are counted, not fatal. */
const uncaught = [];
process.on('uncaughtException', (error) => uncaught.push(describe(error)));
process.on('unhandledRejection', (error) => uncaught.push(describe(error)));

/**
 * What the library logged with `console.log`, first line of each call (Emmett's `withTransaction` logs every
 * error before it rolls back). Still written to stdout, which the suite collects away from its tables.
 */
const logged = {};
const consoleLog = console.log;
console.log = (...args) => {
  const first = format(...args)
    .split('\n')[0]
    .slice(0, 160);
  logged[first] = (logged[first] ?? 0) + 1;
  consoleLog(...args);
};

function describe(error) {
  if (!(error instanceof Error)) return String(error).slice(0, 160);
  const code = error.code === undefined ? '' : ` [${error.code}]`;
  return `${error.name}${code}: ${error.message.split('\n')[0].slice(0, 160)}`;
}

/**
 * The paths, each `{ open, append(stream, event, expected) → position | throws, initial, close,
 * settings }`. `expected` is whatever the path's previous append to that stream returned, or `initial`.
 */
async function openPath(job) {
  if (job.path === 'ours' || job.path === 'ours-unsealed') {
    const store = await SqliteEventStore.open({ path: job.file, integrity: job.path === 'ours' });
    return {
      initial: 'no_stream',
      append: async (stream, event, expected) =>
        (await store.appendToStream(stream, [event], { expectedRevision: expected })).nextExpectedRevision,
      close: () => store.close(),
      settings: async () => ({ journal: 'wal', synchronous: 'FULL (2), set by the store on its writer' }),
    };
  }
  const { emmettSqlite } = loadEmmettSqlite(job.emmettDir);
  const settings = async () => {
    // Asked through a connection Emmett itself opens, which is how its appends run.
    const connection = emmettSqlite.sqliteConnection({ fileName: job.file });
    try {
      const journal = await connection.querySingle('PRAGMA journal_mode');
      const synchronous = await connection.querySingle('PRAGMA synchronous');
      return {
        journal: journal.journal_mode,
        synchronous: `${['OFF', 'NORMAL', 'FULL', 'EXTRA'][synchronous.synchronous]} (${synchronous.synchronous}), sqlite3's default: Emmett does not set it`,
      };
    } finally {
      connection.close();
    }
  };
  if (job.path === 'emmett-store') {
    // The store API as its README shows it: one store object, its default options (schema auto-migration).
    const eventStore = emmettSqlite.getSQLiteEventStore({ fileName: job.file });
    return {
      initial: emmettSqlite.SQLiteEventStoreDefaultStreamVersion,
      append: async (stream, event, expected) =>
        (await eventStore.appendToStream(stream, [event], { expectedStreamVersion: expected }))
          .nextExpectedStreamVersion,
      close: async () => {},
      settings,
    };
  }
  // The low-level append on one long-lived connection, the other way Emmett exports to append.
  const connection = emmettSqlite.sqliteConnection({ fileName: job.file });
  await emmettSqlite.createEventStoreSchema(connection);
  return {
    initial: emmettSqlite.SQLiteEventStoreDefaultStreamVersion,
    append: async (stream, event, expected) => {
      const result = await emmettSqlite.appendToStream(connection, stream, 'claim', [event], {
        expectedStreamVersion: expected,
      });
      if (!result.success) throw new Error('append returned { success: false } (expected version mismatch)');
      return result.nextStreamPosition;
    },
    close: async () => connection.close(),
    settings,
  };
}

const HUNG = Symbol('hung');

async function appendConcurrently(path, job, streams, revisions, count, record) {
  let issued = 0;
  const appender = async () => {
    while (issued < count) {
      const index = issued;
      issued += 1;
      const stream = streams[index % streams.length];
      const event = claimMadeEvent(stream.claimId, index);
      const expected = revisions.get(stream.name) ?? path.initial;
      const started = performance.now();
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve(HUNG), job.timeoutMs);
      });
      try {
        const position = await Promise.race([path.append(stream.name, event, expected), timeout]);
        if (position === HUNG) {
          // Neither resolved nor rejected: count it and let this appender stop, as a caller would give up.
          record.hung += 1;
          return;
        }
        record.lastSettled = performance.now();
        record.latencies?.push(record.lastSettled - started);
        revisions.set(stream.name, position);
        record.acknowledged.push([stream.name, Number(position)]);
      } catch (error) {
        record.lastSettled = performance.now();
        const key = describe(error);
        record.failures[key] = (record.failures[key] ?? 0) + 1;
      } finally {
        clearTimeout(timer);
      }
    }
  };
  await Promise.all(Array.from({ length: job.appenders }, appender));
}

async function measure(job) {
  const streams = claimStreams(job.streams);
  const revisions = new Map();
  const path = await openPath(job);
  // Before any append: after a run that left a connection stuck in a transaction, asking could hang.
  const settings = await path.settings();
  const warm = { acknowledged: [], failures: {}, hung: 0 };
  await appendConcurrently(path, { ...job, appenders: job.appenders }, streams, revisions, job.warmUp, warm);
  // The measured appends continue round-robin after the warm-up's: the streams the warm-up touched get their
  // second event, the others (most of them when there are more streams than warm-up appends) their first.
  const offset = streams.splice(0, job.warmUp % streams.length);
  streams.push(...offset);
  const measured = { acknowledged: [], failures: {}, hung: 0, latencies: [] };
  const started = performance.now();
  await appendConcurrently(path, job, streams, revisions, job.appends, measured);
  const seconds = (performance.now() - started) / 1000;
  // Up to the last append that settled: time spent waiting out hung appends is not time spent appending.
  const activeSeconds = ((measured.lastSettled ?? started) - started) / 1000;
  await path.close();
  return {
    seconds,
    activeSeconds,
    latencies: measured.latencies,
    acknowledged: [...warm.acknowledged, ...measured.acknowledged],
    measuredAcknowledged: measured.acknowledged.length,
    failures: measured.failures,
    warmUpFailures: warm.failures,
    hung: measured.hung + warm.hung,
    uncaught,
    logged,
    settings,
  };
}

process.once('message', (job) => {
  measure(job).then(
    (result) => process.send(result, () => process.exit(0)),
    // A path that cannot even open or close: the suite reports it instead of a row of figures.
    (error) => process.send({ error: describe(error) }, () => process.exit(1)),
  );
});
