/**
 * The `emmett` suite: the store suite's append workload through a peer, Emmett's SQLite event store
 * (`@event-driven-io/emmett-sqlite`, installed at run time into a scratch folder: it has no licence, so it is
 * never a project dependency), beside our `SqliteEventStore` in the same run. The peer is measured exactly as
 * it behaves with its default options: failures are counted and described, and every acknowledged append is
 * looked up in the database file afterwards, so an append that resolved but is not in the file shows.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { claimMadeEvent, uuidv7Like } from './lib/claim-events.js';
import { ensureEmmett, interruptInstall } from './lib/emmett-install.js';
import { formatCount, formatMs, formatRatio, markdownTable } from './lib/markdown.js';
import { median, percentile } from './lib/stats.js';
import { TempFiles } from './lib/temp-files.js';

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), 'lib', 'append-runner.js');
/** Rounds per path and scenario (`BENCH_EMMETT_ROUNDS`, default 3); rates are medians, with min–max. */
const ROUNDS = Number(process.env.BENCH_EMMETT_ROUNDS ?? 3);
/**
 * Fewer appends than the store suite (3 000 and 30 000): at the ~170 appends/s issue 7 reports for the peer,
 * the store suite's counts would take minutes per round. Every path runs the same counts.
 */
const SCENARIOS = [
  { appenders: 1, appends: 1_000, warmUp: 100 },
  { appenders: 64, appends: 3_200, warmUp: 320 },
];
/** 1 000 streams, so that most measured appends go to a stream that already has events (revision checks). */
const STREAMS = 1_000;
/**
 * An append that neither resolves nor rejects within this long is counted as hung (`BENCH_APPEND_TIMEOUT_MS`,
 * default 10 s; ours has a p99 of tens of milliseconds at 64 appenders).
 */
const TIMEOUT_MS = Number(process.env.BENCH_APPEND_TIMEOUT_MS ?? 10_000);
/** A runner still alive this long after it started is killed and its round reported as such. */
const WATCHDOG_MS = 5 * 60_000;

const PATHS = {
  ours: { label: '`SqliteEventStore.appendToStream` (ours, defaults)', table: 'events', column: 'revision' },
  // Not a peer, and not the default: shows what the hash chain (each event sealed inside the write lock)
  // costs in the same run. The ratio against the target is the default's.
  'ours-unsealed': {
    label: '`SqliteEventStore.appendToStream` (ours, `integrity: false`: no hash chain)',
    table: 'events',
    column: 'revision',
  },
  'emmett-store': {
    label: 'Emmett `getSQLiteEventStore(…).appendToStream` (store API)',
    table: 'emt_messages',
    column: 'stream_position',
  },
  'emmett-low-level': {
    label: 'Emmett `appendToStream(connection, …)` on one `sqliteConnection` (low level)',
    table: 'emt_messages',
    column: 'stream_position',
  },
};

function progress(message) {
  process.stderr.write(`  ${message}\n`);
}

/**
 * Runs one measurement in `lib/append-runner.js`. Its stdout (where Emmett logs errors; the runner counts them)
 * is drained and dropped, so that it never mixes with the suite's tables. A runner that
 * dies or must be killed yields `{ error }`, reported in place of that round's figures.
 */
function runPath(job, children) {
  return new Promise((resolve) => {
    const child = fork(RUNNER, [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    children.add(child);
    child.stdout.resume();
    let result;
    const watchdog = setTimeout(() => {
      result ??= { error: `killed after ${WATCHDOG_MS / 60_000} minutes without an answer` };
      child.kill('SIGKILL');
    }, WATCHDOG_MS);
    child.once('message', (message) => {
      result ??= message;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(watchdog);
      children.delete(child);
      resolve(result ?? { error: `the runner exited with ${code ?? signal}` });
    });
    child.send(job);
  });
}

/** Looks up every acknowledged `[stream, position]` in the file the runner wrote, after it exited. */
function readBack(file, path, acknowledged) {
  const { table, column } = PATHS[path];
  const db = new Database(file, { readonly: true });
  try {
    const rows = new Set(
      db
        .prepare(`SELECT stream_id, ${column} FROM ${table}`)
        .raw()
        .all()
        .map(([stream, position]) => `${stream} ${position}`),
    );
    const found = acknowledged.filter(([stream, position]) => rows.has(`${stream} ${position}`)).length;
    // The journal mode the file was left in: WAL is recorded in the file itself. Asked here rather than by
    // the runner, because Emmett issues its `PRAGMA journal_mode = WAL` without waiting for it.
    const journal = db.pragma('journal_mode', { simple: true });
    return { rows: rows.size, found, journal };
  } finally {
    db.close();
  }
}

async function measure(files, emmett, children) {
  const results = new Map(
    SCENARIOS.map((scenario) => [
      scenario,
      Object.fromEntries(Object.keys(PATHS).map((path) => [path, { runs: [] }])),
    ]),
  );
  for (let round = 0; round < ROUNDS; round += 1) {
    // Alternate the order, so that a slow spell of the shared machine does not always hit the same path.
    const order = round % 2 === 0 ? Object.keys(PATHS) : Object.keys(PATHS).reverse();
    for (const scenario of SCENARIOS) {
      for (const path of order) {
        progress(`round ${round + 1}/${ROUNDS}, ${scenario.appenders} appender(s): ${path}`);
        const file = files.path(`${path}-${scenario.appenders}`);
        const run = await runPath(
          { path, file, ...scenario, streams: STREAMS, timeoutMs: TIMEOUT_MS, emmettDir: emmett.dir },
          children,
        );
        if (run.error === undefined) {
          run.readBack = readBack(file, path, run.acknowledged);
          run.acknowledgedTotal = run.acknowledged.length;
        }
        delete run.acknowledged;
        files.remove(file);
        results.get(scenario)[path].runs.push(run);
      }
    }
  }
  return results;
}

function spread(rates) {
  return `${formatCount(Math.min(...rates))}–${formatCount(Math.max(...rates))}`;
}

function sumFailures(runs, key) {
  const total = {};
  for (const run of runs) {
    for (const [message, count] of Object.entries(run[key] ?? {}))
      total[message] = (total[message] ?? 0) + count;
  }
  return total;
}

function summarise(scenario, runs) {
  const ok = runs.filter((run) => run.error === undefined);
  const rates = ok.map((run) => (run.activeSeconds > 0 ? run.measuredAcknowledged / run.activeSeconds : 0));
  const latencies = ok.flatMap((run) => run.latencies);
  const failures = sumFailures(ok, 'failures');
  const warmUpFailures = sumFailures(ok, 'warmUpFailures');
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  const acknowledged = ok.reduce((total, run) => total + run.measuredAcknowledged, 0);
  const allAcknowledged = ok.reduce(
    (total, run) => total + (run.readBack === undefined ? 0 : run.readBack.found),
    0,
  );
  const expectedBack = ok.reduce((total, run) => total + run.acknowledgedTotal, 0);
  return {
    rate: rates.length === 0 ? Number.NaN : median(rates),
    rates,
    latencies,
    failures,
    warmUpFailures,
    failed,
    acknowledged,
    attempted: ok.length * scenario.appends,
    hung: ok.reduce((total, run) => total + run.hung, 0),
    uncaught: ok.flatMap((run) => run.uncaught),
    logged: sumFailures(ok, 'logged'),
    readBack: allAcknowledged,
    expectedBack,
    rows: ok.reduce((total, run) => total + (run.readBack?.rows ?? 0), 0),
    errors: runs.filter((run) => run.error !== undefined).map((run) => run.error),
    settings:
      ok[0]?.settings === undefined
        ? undefined
        : { ...ok[0].settings, journal: ok[0].readBack?.journal ?? ok[0].settings.journal },
  };
}

/**
 * A path's rate for a ratio: only when it acknowledged appends and every one of them was in the file
 * afterwards (the target compares durable appends), ours as the peer's. Otherwise `undefined`: no ratio.
 */
function durableRate(cell) {
  return cell.rate > 0 && cell.readBack === cell.expectedBack ? cell.rate : undefined;
}

function scenarioTable(cells) {
  const peer = durableRate(cells['emmett-store']);
  const rows = Object.entries(PATHS).map(([path, { label }]) => {
    const cell = cells[path];
    const latencies = Float64Array.from(cell.latencies);
    return [
      label,
      cell.rates.length === 0 ? '—' : formatCount(cell.rate),
      cell.rates.length === 0 ? '—' : spread(cell.rates),
      latencies.length === 0 ? '—' : formatMs(percentile(latencies, 0.5)),
      latencies.length === 0 ? '—' : formatMs(percentile(latencies, 0.99)),
      `${formatCount(cell.acknowledged)} / ${formatCount(cell.attempted)}`,
      formatCount(cell.failed),
      formatCount(cell.hung),
      `${formatCount(cell.readBack)} / ${formatCount(cell.expectedBack)}`,
      formatCount(cell.rows),
      path === 'emmett-store' || peer === undefined || durableRate(cell) === undefined
        ? '—'
        : formatRatio(cell.rate / peer),
    ];
  });
  return markdownTable(
    [
      'path',
      'acknowledged appends/s',
      'min–max',
      'p50 ms',
      'p99 ms',
      'acknowledged / planned',
      'failed',
      'hung',
      'acknowledged found in the file afterwards',
      'rows in the file',
      '÷ Emmett store API',
    ],
    rows,
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
}

function failureNotes(cells) {
  const notes = [];
  for (const [path, { label }] of Object.entries(PATHS)) {
    const cell = cells[path];
    const lines = [];
    for (const [message, count] of Object.entries(cell.failures)) lines.push(`${count}× \`${message}\``);
    for (const [message, count] of Object.entries(cell.warmUpFailures))
      lines.push(`${count}× during warm-up: \`${message}\``);
    const uncaught = {};
    for (const message of cell.uncaught) uncaught[message] = (uncaught[message] ?? 0) + 1;
    for (const [message, count] of Object.entries(uncaught)) lines.push(`${count}× uncaught: \`${message}\``);
    if (cell.hung > 0)
      lines.push(`${cell.hung} appends neither resolved nor rejected within ${TIMEOUT_MS / 1000} s`);
    for (const [message, count] of Object.entries(cell.logged))
      lines.push(`${count}× logged by the library: \`${message}\``);
    for (const error of cell.errors) lines.push(`a round could not run: \`${error}\``);
    const lost = cell.expectedBack - cell.readBack;
    if (lost > 0)
      lines.push(`**${formatCount(lost)} acknowledged appends are not in the file** (not durable)`);
    if (lines.length > 0) notes.push(`- ${label}: ${lines.join('; ')}.`);
  }
  return notes.length === 0
    ? ['No failures, no hung appends, every acknowledged append found in the file.']
    : notes;
}

function sampleSize() {
  const sample = Array.from({ length: 100 }, (_, index) => claimMadeEvent(uuidv7Like(), index));
  return Math.round(sample.reduce((total, e) => total + JSON.stringify(e.data).length, 0) / sample.length);
}

function report(emmett, results) {
  const cellsOf = new Map(
    SCENARIOS.map((scenario) => [
      scenario,
      Object.fromEntries(
        Object.keys(PATHS).map((path) => [path, summarise(scenario, results.get(scenario)[path].runs)]),
      ),
    ]),
  );
  const settings = (path) => {
    const found = SCENARIOS.map((scenario) => cellsOf.get(scenario)[path].settings).find(Boolean);
    return found === undefined
      ? 'unknown'
      : `journal_mode=${found.journal}, synchronous=${found.synchronous}`;
  };
  const sections = [
    '## Peer: Emmett’s SQLite event store beside ours',
    '',
    `- Emmett \`@event-driven-io/emmett-sqlite@${emmett.emmettSqlite}\` with \`@event-driven-io/emmett@${emmett.emmett}\` ` +
      `on \`sqlite3@${emmett.sqlite3}\` (licence: ${emmett.licence}), installed into the scratch folder ` +
      `\`${emmett.dir}\` (${emmett.installed === 'now' ? `installed by this run in ${emmett.seconds.toFixed(0)} s` : 'reused from an earlier run'}), never a project dependency.`,
    `- Each append is one \`ClaimMade\` event (data ≈ ${sampleSize()} B) to one of ${formatCount(STREAMS)} ` +
      '`claim-<uuidv7>` streams, round-robin, with the revision the previous append to that stream returned ' +
      '(ours: `no_stream` first; Emmett: its `SQLiteEventStoreDefaultStreamVersion`, 0n, first). On a fresh file ' +
      'per measurement, each in a process of its own; both libraries with their default options (ours also ' +
      'with `integrity: false`).',
    `- Durability settings: the journal mode each file was left in after the run, and \`synchronous\` as each library's connection reports it: ours ${settings('ours')}; Emmett ${settings('emmett-store')}.`,
    `- Rates count acknowledged (resolved) appends per second until the last append settled (time spent waiting ` +
      `out hung appends, ${TIMEOUT_MS / 1000} s each, is left out), medians of ${ROUNDS} rounds; latencies of ` +
      'acknowledged appends pooled over rounds, counts summed over rounds. After each run the process exits ' +
      'and the suite looks up every acknowledged append (warm-up included) by stream and position in the file. ' +
      'This shows what a clean run left in the file; it does not show whether an append was committed at the ' +
      'moment it resolved.',
  ];
  const ratios = [];
  for (const scenario of SCENARIOS) {
    const cells = cellsOf.get(scenario);
    sections.push(
      '',
      `### ${scenario.appenders} concurrent appender${scenario.appenders === 1 ? '' : 's'}: ` +
        `${formatCount(scenario.appends)} appends after ${formatCount(scenario.warmUp)} warm-up`,
      '',
      scenarioTable(cells),
      '',
      ...failureNotes(cells),
    );
    const peer = cells['emmett-store'];
    const peerRate = durableRate(peer);
    const oursRate = durableRate(cells.ours);
    ratios.push(
      oursRate === undefined
        ? `${scenario.appenders}: no ratio (ours: ${formatCount(cells.ours.readBack)} of ` +
            `${formatCount(cells.ours.expectedBack)} acknowledged appends in the file afterwards)`
        : peerRate !== undefined
          ? `${scenario.appenders}: ${formatRatio(oursRate / peerRate)}`
          : `${scenario.appenders}: no ratio (Emmett’s store API acknowledged ${formatCount(peer.acknowledged)} of ` +
            `the ${formatCount(peer.attempted)} measured appends planned; of all ${formatCount(peer.expectedBack)} it ` +
            `acknowledged, warm-up included, ${formatCount(peer.readBack)} were in the file afterwards; ` +
            `${formatCount(peer.hung)} hung)`,
    );
  }
  sections.push(
    '',
    `**Ours ÷ Emmett’s store API, acknowledged appends/s, by concurrent appenders: ${ratios.join(', ')}** ` +
      '(issue 7’s target: ≥ 10× on the same durable appends; ours with its defaults, hash chain included).',
  );
  return sections.join('\n');
}

/** Runs the suite and prints its Markdown section to stdout; progress goes to stderr. */
export async function run() {
  const files = new TempFiles('ledger-bench-emmett-');
  const children = new Set();
  const onInterrupt = () => {
    for (const child of children) child.kill('SIGKILL');
    interruptInstall();
    files.removeAll();
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    const emmett = await ensureEmmett();
    progress(
      `Emmett: emmett ${emmett.emmett}, emmett-sqlite ${emmett.emmettSqlite}, sqlite3 ${emmett.sqlite3} in ${emmett.dir} (${emmett.installed})`,
    );
    const results = await measure(files, emmett, children);
    console.log(report(emmett, results));
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    files.removeAll();
  }
}
