/**
 * The `store` suite: append and `$all` read throughput of `@ledger/event-store-sqlite` in both writer modes,
 * each beside ceilings measured with raw better-sqlite3 in the same run. The machine is noisy, so it reports
 * ratios between figures of one run rather than judging absolute numbers.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import Database from 'better-sqlite3';
import { claimMadeEvent, claimStreams, uuidv7Like } from './lib/claim-events.js';
import { formatCount, formatMs, formatRatio, markdownTable } from './lib/markdown.js';
import { median, percentile, pooled } from './lib/stats.js';
import { TempFiles } from './lib/temp-files.js';

const ROUNDS = 5;
const STREAMS = 10_000;
const WRITERS = ['worker', 'main-thread'];
const SCENARIOS = [
  { appenders: 1, appends: 3_000, warmUp: 300 },
  { appenders: 64, appends: 30_000, warmUp: 3_000 },
];
const READ_EVENTS = 100_000;
const READ_WARM_UP = 10_000;
const TOP_UP = { eventsPerAppend: 100, appenders: 8 };
/** The period of the event-loop delay sampler, in ms; subtracted from its samples to leave the stall. */
const LOOP_SAMPLE_MS = 1;

// A copy of MIGRATIONS[0] in packages/event-store-sqlite/src/schema.ts, so that the raw ceilings write the same
// table and indexes. `checkSchemaCopy` stops the run if the store's schema no longer matches it.
const SCHEMA = `CREATE TABLE events (
     position  INTEGER PRIMARY KEY,
     event_id  TEXT    NOT NULL UNIQUE,
     stream_id TEXT    NOT NULL,
     revision  INTEGER NOT NULL,
     type      TEXT    NOT NULL,
     data      TEXT    NOT NULL,
     metadata  TEXT,
     created   TEXT    NOT NULL,
     UNIQUE (stream_id, revision)
   );
   CREATE INDEX events_by_type ON events (type, position);`;

const INSERT =
  'INSERT INTO events (event_id, stream_id, revision, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)';
const COLUMNS = 'position, event_id, stream_id, revision, type, data, metadata, created';
const SELECT_ALL = `SELECT ${COLUMNS} FROM events ORDER BY position`;
const SELECT_PAGE = `SELECT ${COLUMNS} FROM events WHERE position >= ? ORDER BY position LIMIT ?`;
/** The store reads `$all` in pages of this many rows (`PAGE` in sqlite-event-store.ts). */
const READ_PAGE = 1000;

const PATHS = {
  worker: "store, writer 'worker'",
  'main-thread': "store, writer 'main-thread'",
  transaction: 'ceiling: raw, all rows in one transaction',
  naive: 'ceiling: raw, one fsync’d commit per append',
};

function progress(message) {
  process.stderr.write(`  ${message}\n`);
}

/** Hands out streams round-robin and remembers each stream's revision, so appends never conflict. */
class RoundRobin {
  #streams;
  #next = 0;
  revisions = new Map();

  constructor(streams) {
    this.#streams = streams;
  }

  /** The next stream, and a sequence number that varies the payload. */
  take() {
    const sequence = this.#next;
    this.#next += 1;
    return { stream: this.#streams[sequence % this.#streams.length], sequence };
  }
}

function openRawWriter(path) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);
  return db;
}

function schemaOf(path) {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all()
      .map(({ name, sql }) => `${name}: ${sql.replace(/\s+/g, ' ')}`)
      .join('\n');
  } finally {
    db.close();
  }
}

/** Fails fast when the store's schema has changed and this suite's copy (for the ceilings) has not. */
async function checkSchemaCopy(files) {
  const storePath = files.path('schema-store');
  const rawPath = files.path('schema-raw');
  await (await SqliteEventStore.open({ path: storePath, writer: 'main-thread' })).close();
  openRawWriter(rawPath).close();
  const store = schemaOf(storePath);
  const raw = schemaOf(rawPath);
  files.remove(storePath);
  files.remove(rawPath);
  if (store !== raw) {
    throw new Error(
      `bench/store.bench.js's copy of the schema no longer matches the store's; update SCHEMA.\nstore:\n${store}\ncopy:\n${raw}`,
    );
  }
}

function countEvents(path) {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM events').pluck().get();
  } finally {
    db.close();
  }
}

/** Runs `count` single-event appends from `appenders` concurrent callers; records each one's latency. */
async function appendConcurrently(store, cursor, appenders, count, latencies) {
  let issued = 0;
  const appender = async () => {
    while (issued < count) {
      const index = issued;
      issued += 1;
      const { stream, sequence } = cursor.take();
      const event = claimMadeEvent(stream.claimId, sequence);
      const expectedRevision = cursor.revisions.get(stream.name) ?? 'no_stream';
      const started = performance.now();
      const { nextExpectedRevision } = await store.appendToStream(stream.name, [event], { expectedRevision });
      if (latencies !== undefined) latencies[index] = performance.now() - started;
      cursor.revisions.set(stream.name, nextExpectedRevision);
    }
  };
  await Promise.all(Array.from({ length: appenders }, appender));
}

async function measureStore(files, streams, scenario, writer) {
  const path = files.path(`store-${writer}-${scenario.appenders}`);
  const batches = { measuring: false, commits: 0, appends: 0 };
  const onCommit = ({ appends }) => {
    if (!batches.measuring) return;
    batches.commits += 1;
    batches.appends += appends;
  };
  const store = await SqliteEventStore.open({ path, writer, onCommit });
  const latencies = new Float64Array(scenario.appends);
  // One histogram per run: re-enabling one would record the whole pause since it was disabled as a stall.
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  let seconds;
  try {
    const cursor = new RoundRobin(streams);
    await appendConcurrently(store, cursor, scenario.appenders, scenario.warmUp);
    loopDelay.enable();
    batches.measuring = true;
    const started = performance.now();
    await appendConcurrently(store, cursor, scenario.appenders, scenario.appends, latencies);
    seconds = (performance.now() - started) / 1000;
    loopDelay.disable();
  } finally {
    await store.close();
  }
  const stored = countEvents(path);
  files.remove(path);
  if (stored !== scenario.warmUp + scenario.appends) {
    throw new Error(`expected ${scenario.warmUp + scenario.appends} events in ${path}, found ${stored}`);
  }
  return {
    rate: scenario.appends / seconds,
    latencies,
    loopStall: { p99: loopStallMs(loopDelay, 99), max: loopStallMs(loopDelay, 100) },
    appendsPerCommit: batches.appends / batches.commits,
  };
}

/** An insert of the next round-robin event, doing the caller-side work an append does: ids, JSON, clock. */
function rawInserter(db, streams) {
  const insert = db.prepare(INSERT);
  const cursor = new RoundRobin(streams);
  return () => {
    const { stream, sequence } = cursor.take();
    const revision = (cursor.revisions.get(stream.name) ?? -1) + 1;
    const event = claimMadeEvent(stream.claimId, sequence);
    insert.run(
      uuidv7Like(),
      stream.name,
      revision,
      event.type,
      JSON.stringify(event.data),
      JSON.stringify(event.metadata),
      new Date().toISOString(),
    );
    cursor.revisions.set(stream.name, revision);
  };
}

/** Upper bound: every row in one transaction, so one fsync for the lot. */
function measureOneTransaction(files, streams, scenario) {
  const path = files.path(`raw-transaction-${scenario.appenders}`);
  const db = openRawWriter(path);
  let seconds;
  try {
    const insertOne = rawInserter(db, streams);
    const insertMany = db.transaction((count) => {
      for (let index = 0; index < count; index += 1) insertOne();
    });
    insertMany(scenario.warmUp);
    const started = performance.now();
    insertMany(scenario.appends);
    seconds = (performance.now() - started) / 1000;
  } finally {
    db.close();
    files.remove(path);
  }
  return { rate: scenario.appends / seconds };
}

/** The naive path: each insert is its own autocommit transaction, with its own fsync. */
function measureCommitPerAppend(files, streams, scenario) {
  const path = files.path(`raw-naive-${scenario.appenders}`);
  const db = openRawWriter(path);
  const latencies = new Float64Array(scenario.appends);
  let seconds;
  try {
    const insertOne = rawInserter(db, streams);
    for (let index = 0; index < scenario.warmUp; index += 1) insertOne();
    const started = performance.now();
    for (let index = 0; index < scenario.appends; index += 1) {
      const before = performance.now();
      insertOne();
      latencies[index] = performance.now() - before;
    }
    seconds = (performance.now() - started) / 1000;
  } finally {
    db.close();
    files.remove(path);
  }
  return { rate: scenario.appends / seconds, latencies };
}

/** Writes `target` events through the store in large appends, several in flight so they group commit. */
async function fillForReads(store, streams, target) {
  const cursor = new RoundRobin(streams);
  let written = 0;
  const appender = async () => {
    while (written < target) {
      const size = Math.min(TOP_UP.eventsPerAppend, target - written);
      written += size;
      const { stream, sequence } = cursor.take();
      const events = Array.from({ length: size }, (_, index) =>
        claimMadeEvent(stream.claimId, sequence * size + index),
      );
      const expectedRevision = cursor.revisions.get(stream.name) ?? 'no_stream';
      const { nextExpectedRevision } = await store.appendToStream(stream.name, events, { expectedRevision });
      cursor.revisions.set(stream.name, nextExpectedRevision);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: TOP_UP.appenders }, appender));
  return { events: written, rate: written / ((performance.now() - started) / 1000) };
}

async function readThroughStore(store, maxCount) {
  let events = 0;
  for await (const event of store.readAll(maxCount === undefined ? {} : { maxCount })) {
    if (event.data !== undefined) events += 1;
  }
  return events;
}

function parseRow(row) {
  const data = JSON.parse(row.data);
  const metadata = row.metadata === null ? undefined : JSON.parse(row.metadata);
  return data !== undefined && metadata !== null;
}

/** The ceiling: one statement over the whole table, parsing what the store parses. */
function readRawIterate(statements, maxCount = Number.POSITIVE_INFINITY) {
  let events = 0;
  for (const row of statements.all.iterate()) {
    if (parseRow(row)) events += 1;
    if (events >= maxCount) break;
  }
  return events;
}

/**
 * The same in pages fetched with `.all()`, as the store does: one native call per page instead of one per
 * row, which is why the store can beat the `.iterate()` ceiling.
 */
function readRawPaged(statements, maxCount = Number.POSITIVE_INFINITY) {
  let events = 0;
  let next = 0;
  for (;;) {
    const rows = statements.page.all(next, Math.min(READ_PAGE, maxCount - events));
    for (const row of rows) if (parseRow(row)) events += 1;
    if (rows.length < READ_PAGE || events >= maxCount) return events;
    next = rows[rows.length - 1].position + 1;
  }
}

const READERS = {
  store: { label: 'store, `for await (const e of store.readAll())`' },
  iterate: {
    label: 'ceiling: raw `.iterate()` + `JSON.parse` of data and metadata',
    read: readRawIterate,
  },
  paged: { label: `raw, pages of ${READ_PAGE} rows by \`.all()\` + \`JSON.parse\``, read: readRawPaged },
};

async function timed(read) {
  const started = performance.now();
  const events = await read();
  return { events, seconds: (performance.now() - started) / 1000 };
}

async function measureReads(files, streams) {
  const path = files.path('read');
  const store = await SqliteEventStore.open({ path });
  let reader;
  try {
    progress(`$all read: writing ${formatCount(READ_EVENTS)} events`);
    const fill = await fillForReads(store, streams, READ_EVENTS);
    reader = new Database(path, { readonly: true });
    const statements = { all: reader.prepare(SELECT_ALL), page: reader.prepare(SELECT_PAGE) };
    const read = (which, maxCount) =>
      which === 'store' ? readThroughStore(store, maxCount) : READERS[which].read(statements, maxCount);
    const rates = Object.fromEntries(Object.keys(READERS).map((which) => [which, []]));
    for (const which of Object.keys(READERS)) await read(which, READ_WARM_UP);
    for (let round = 0; round < ROUNDS; round += 1) {
      progress(`$all read: round ${round + 1}/${ROUNDS}`);
      const order = round % 2 === 0 ? Object.keys(READERS) : Object.keys(READERS).reverse();
      for (const which of order) {
        const { events, seconds } = await timed(() => read(which));
        if (events !== fill.events)
          throw new Error(`${which} read ${events} events, expected ${fill.events}`);
        rates[which].push(events / seconds);
      }
    }
    return { fill, rates };
  } finally {
    reader?.close();
    await store.close();
    files.remove(path);
  }
}

function spread(rates) {
  return `${formatCount(Math.min(...rates))}–${formatCount(Math.max(...rates))}`;
}

/** The loop's stall at percentile `q` (0..100] of a delay histogram, without the sampling period itself. */
function loopStallMs(histogram, q) {
  if (histogram.count === 0) return 0;
  return Math.max(0, histogram.percentile(q) / 1e6 - LOOP_SAMPLE_MS);
}

function appendTable(scenario, results) {
  const transaction = median(results.transaction.rates);
  const naive = median(results.naive.rates);
  const rows = Object.entries(PATHS).map(([key, label]) => {
    const { rates, latencies, loopStalls, appendsPerCommit } = results[key];
    const batch = {
      transaction: formatCount(scenario.appends),
      naive: '1',
    };
    const rate = median(rates);
    const all = latencies.length > 0 ? pooled(latencies) : undefined;
    const store = WRITERS.includes(key);
    return [
      label,
      formatCount(rate),
      spread(rates),
      batch[key] ?? median(appendsPerCommit).toFixed(1),
      all === undefined ? '—' : formatMs(percentile(all, 0.5)),
      all === undefined ? '—' : formatMs(percentile(all, 0.99)),
      store ? formatMs(median(loopStalls.map((stall) => stall.p99))) : '—',
      store ? formatMs(Math.max(...loopStalls.map((stall) => stall.max))) : '—',
      store ? formatRatio(rate / transaction) : '—',
      store ? formatRatio(rate / naive) : '—',
    ];
  });
  return markdownTable(
    [
      'path',
      'appends/s',
      'min–max',
      'appends/commit',
      'p50 ms',
      'p99 ms',
      'loop stall p99 ms',
      'loop stall max ms',
      '÷ one transaction',
      '÷ commit per append',
    ],
    rows,
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
}

function readTable({ fill, rates }) {
  const store = median(rates.store);
  return [
    markdownTable(
      ['path', 'events/s', 'min–max', '÷ raw `.iterate()` ceiling', '÷ raw paged'],
      Object.entries(READERS).map(([which, { label }]) => [
        label,
        formatCount(median(rates[which])),
        spread(rates[which]),
        which === 'store' ? formatRatio(store / median(rates.iterate)) : '—',
        which === 'store' ? formatRatio(store / median(rates.paged)) : '—',
      ]),
      [1, 2, 3, 4],
    ),
    '',
    `The ${formatCount(fill.events)} events were written through the store in appends of ` +
      `${TOP_UP.eventsPerAppend} events, ${TOP_UP.appenders} in flight, at ${formatCount(fill.rate)} events/s.`,
  ].join('\n');
}

function verdict(scenario, results) {
  const [faster, slower] =
    median(results.worker.rates) >= median(results['main-thread'].rates)
      ? ['worker', 'main-thread']
      : ['main-thread', 'worker'];
  const fast = median(results[faster].rates);
  const slow = median(results[slower].rates);
  const separated = Math.min(...results[faster].rates) > Math.max(...results[slower].rates);
  const noise = separated
    ? 'its slowest round beat the other’s fastest'
    : 'their ranges overlap, so the gap is within this machine’s noise';
  return (
    `**At ${scenario.appenders} appenders the '${faster}' writer was faster than '${slower}' by ` +
    `${formatRatio(fast / slow)}** (${formatCount(fast)} vs ${formatCount(slow)} appends/s, medians of ` +
    `${ROUNDS} rounds; ${noise}).`
  );
}

function sampleSizes() {
  const sample = Array.from({ length: 100 }, (_, index) => claimMadeEvent(uuidv7Like(), index));
  const mean = (f) => Math.round(sample.reduce((total, event) => total + f(event), 0) / sample.length);
  return {
    data: mean((event) => JSON.stringify(event.data).length),
    metadata: mean((event) => JSON.stringify(event.metadata).length),
  };
}

/** Every append measurement, `ROUNDS` times: per scenario, per path, the rates, latencies and loop stalls. */
async function measureAppends(files, streams) {
  const results = new Map(
    SCENARIOS.map((scenario) => [
      scenario,
      Object.fromEntries(
        Object.keys(PATHS).map((key) => [
          key,
          { rates: [], latencies: [], loopStalls: [], appendsPerCommit: [] },
        ]),
      ),
    ]),
  );
  for (let round = 0; round < ROUNDS; round += 1) {
    // Alternate which writer goes first, so a slow spell of the machine does not always hit the same one.
    const writers = round % 2 === 0 ? WRITERS : [...WRITERS].reverse();
    for (const scenario of SCENARIOS) {
      const cell = results.get(scenario);
      const record = (key, { rate, latencies, loopStall, appendsPerCommit }) => {
        cell[key].rates.push(rate);
        if (appendsPerCommit !== undefined) cell[key].appendsPerCommit.push(appendsPerCommit);
        if (latencies !== undefined) cell[key].latencies.push(latencies);
        if (loopStall !== undefined) cell[key].loopStalls.push(loopStall);
      };
      const where = `round ${round + 1}/${ROUNDS}, ${scenario.appenders} appender(s)`;
      for (const writer of writers) {
        progress(`${where}: store, writer '${writer}'`);
        record(writer, await measureStore(files, streams, scenario, writer));
      }
      progress(`${where}: raw ceilings`);
      record('transaction', measureOneTransaction(files, streams, scenario));
      record('naive', measureCommitPerAppend(files, streams, scenario));
    }
  }
  return results;
}

function report(appends, reads) {
  const sizes = sampleSizes();
  const sections = [
    '## Store: `@ledger/event-store-sqlite`',
    '',
    `- Each append is one \`ClaimMade\` event (JSON data ≈ ${sizes.data} B, metadata ≈ ${sizes.metadata} B) to ` +
      `one of ${formatCount(STREAMS)} \`claim-<uuidv7>\` streams, taken round-robin, with that stream's expected ` +
      'revision.',
    '- Every measurement starts on a fresh database file (WAL, `synchronous=FULL`).',
    `- Rates are medians of ${ROUNDS} rounds, min–max beside them; latencies are pooled over the rounds. ` +
      '"appends/commit" is the mean group-commit batch (from `onCommit`), median over rounds.',
    '- "÷" columns divide the store\'s rate by a ceiling\'s from the same run. The raw ceilings write the ' +
      "store's table and indexes with better-sqlite3 and do the caller-side work of an append (ids, JSON, " +
      'timestamp) but no expected-revision check.',
    `- "Loop stall" is how long the main thread's event loop was blocked (sampled every ${LOOP_SAMPLE_MS} ms): ` +
      'p99 is the median over rounds, max the worst of any round.',
  ];
  for (const scenario of SCENARIOS) {
    sections.push(
      '',
      `### Appends, ${scenario.appenders} concurrent appender${scenario.appenders === 1 ? '' : 's'}: ` +
        `${formatCount(scenario.appends)} appends after ${formatCount(scenario.warmUp)} warm-up`,
      '',
      appendTable(scenario, appends.get(scenario)),
    );
  }
  const last = SCENARIOS.at(-1);
  sections.push(
    '',
    `### \`$all\` read: ${formatCount(READ_EVENTS)} events`,
    '',
    readTable(reads),
    '',
    verdict(last, appends.get(last)),
  );
  return sections.join('\n');
}

/**
 * The store's own append rate, the ingest ceiling of other suites (`http`): `appends` single-event appends from
 * `appenders` concurrent callers after `warmUp`, on a fresh file with the default writer ('main-thread').
 */
export async function storeAppendRate({ appenders, appends, warmUp }) {
  const files = new TempFiles();
  try {
    const { rate, latencies, appendsPerCommit } = await measureStore(
      files,
      claimStreams(STREAMS),
      { appenders, appends, warmUp },
      'main-thread',
    );
    return { rate, appendsPerCommit, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
  } finally {
    files.removeAll();
  }
}

/** Runs the suite and prints its Markdown section to stdout; progress goes to stderr. */
export async function run() {
  const files = new TempFiles();
  const onInterrupt = () => {
    files.removeAll();
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    await checkSchemaCopy(files);
    const streams = claimStreams(STREAMS);
    const appends = await measureAppends(files, streams);
    const reads = await measureReads(files, streams);
    console.log(report(appends, reads));
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    files.removeAll();
  }
}
