/**
 * The `queries` suite: latency of an actor's status, its disputes and `asOf` (status at a past moment) on a
 * ledger of 100 000 claims, through the query functions in process (`LedgerQueries`) and over HTTP from the
 * real all-in-one process. Supersedes the query part of `packages/projections/scripts/scale-check.js`, with
 * the same shape of ledger (2 000 actors, plus one hot actor with a twentieth of the claims: `asOf` folds an
 * actor's history at query time, so its cost grows with that history).
 */

import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LedgerQueries } from '@ledger/projections';
import { ensureLedger, interruptLedgers, runJob } from './lib/ledger-cache.js';
import { statedAtOf } from './lib/ledger-events.js';
import { startLedger, stop } from './lib/ledger-process.js';
import { formatCount, formatMs, markdownTable } from './lib/markdown.js';
import { percentile } from './lib/stats.js';

/** Claims in the ledger (`BENCH_QUERY_CLAIMS`, default 100 000). */
const CLAIMS = Number(process.env.BENCH_QUERY_CLAIMS ?? 100_000);
const ACTORS = 2_000;
const HOT_EVERY = 20;
/** Queries per kind on typical actors, and on the hot actor (slower, so fewer). */
const SAMPLES = { typical: 500, hot: 50 };
const ADMIN_KEY = `bench-admin-${randomBytes(24).toString('hex')}`;

function progress(message) {
  process.stderr.write(`  ${message}\n`);
}

/**
 * The queries, each `(actorId, moment) → { call(queries), path }`: one function for in process, one URL path
 * for HTTP, so that both sides ask exactly the same thing.
 */
const KINDS = [
  { label: 'actor status now', call: (q, a) => q.getActor(a), path: (a) => `/v1/actors/${a}` },
  {
    label: 'actor status `asOf`',
    call: (q, a, m) => q.getActor(a, { asOf: m }),
    path: (a, m) => `/v1/actors/${a}?asOf=${m}`,
  },
  { label: 'disputes now', call: (q, a) => q.getDisputes(a), path: (a) => `/v1/actors/${a}/disputes` },
  {
    label: 'disputes `asOf`',
    call: (q, a, m) => q.getDisputes(a, { asOf: m }),
    path: (a, m) => `/v1/actors/${a}/disputes?asOf=${m}`,
  },
];

/** The `n`-th query's actor and moment: typical actors in turn, moments spread over the ledger's time. */
function target(which, n) {
  const count = SAMPLES[which];
  // Actor k exists for k not a multiple of HOT_EVERY: those claim indexes go to the hot actor.
  const k = 1 + ((n * 7) % (ACTORS - 1));
  const actorId = which === 'hot' ? 'hot-actor' : `actor-${k % HOT_EVERY === 0 ? k + 1 : k}`;
  return { actorId, moment: statedAtOf(Math.floor((CLAIMS * (n + 0.5)) / count)) };
}

function inProcess(readDb) {
  const queries = LedgerQueries.open(readDb);
  try {
    const results = [];
    for (const which of ['typical', 'hot']) {
      for (const kind of KINDS) {
        const samples = [];
        let missing = 0;
        for (let n = 0; n < SAMPLES[which]; n += 1) {
          const { actorId, moment } = target(which, n);
          const started = performance.now();
          const answer = kind.call(queries, actorId, moment);
          samples.push(performance.now() - started);
          if (answer === undefined) missing += 1;
        }
        results.push({ which, kind, samples, missing });
      }
    }
    return results;
  } finally {
    queries.close();
  }
}

async function overHttp(url) {
  const headers = { authorization: `Bearer ${ADMIN_KEY}` };
  const results = [];
  // A few requests first, so connection set-up and first-call compilation are not in the samples.
  for (let n = 0; n < 20; n += 1)
    await (await fetch(`${url}/v1/actors/actor-${n + 1}`, { headers })).arrayBuffer();
  for (const which of ['typical', 'hot']) {
    for (const kind of KINDS) {
      const samples = [];
      const statuses = {};
      for (let n = 0; n < SAMPLES[which]; n += 1) {
        const { actorId, moment } = target(which, n);
        const started = performance.now();
        const response = await fetch(`${url}${kind.path(actorId, moment)}`, { headers });
        await response.arrayBuffer();
        samples.push(performance.now() - started);
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      }
      results.push({ which, kind, samples, statuses });
    }
  }
  return results;
}

function table(local, remote) {
  const rows = local.map((row, index) => {
    const http = remote[index];
    const bad = Object.entries(http.statuses)
      .filter(([status]) => status !== '200')
      .map(([status, count]) => `${count}×${status}`);
    if (row.missing > 0) bad.unshift(`${row.missing} not found in process`);
    return [
      `${row.kind.label}, ${row.which === 'hot' ? 'the hot actor' : 'typical actors'}`,
      String(row.samples.length),
      formatMs(percentile(row.samples, 0.5)),
      formatMs(percentile(row.samples, 0.99)),
      formatMs(percentile(http.samples, 0.5)),
      formatMs(percentile(http.samples, 0.99)),
      bad.length === 0 ? '—' : bad.join(', '),
    ];
  });
  return markdownTable(
    ['query', 'samples', 'in process p50 ms', 'in process p99 ms', 'HTTP p50 ms', 'HTTP p99 ms', 'not 200'],
    rows,
    [1, 2, 3, 4, 5],
  );
}

/** Runs the suite and prints its Markdown section to stdout; progress goes to stderr. */
export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-queries-'));
  let ledgerProcess;
  const onInterrupt = () => {
    interruptLedgers();
    ledgerProcess?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    const ledger = await ensureLedger({ claims: CLAIMS }, { actors: ACTORS, hotEvery: HOT_EVERY }, progress);
    // A copy: the ledger process writes to its data dir (leases, checkpoints), the cache stays as generated.
    copyFileSync(join(ledger.dir, 'events.db'), join(dir, 'events.db'));
    progress(`read models: rebuilding from ${formatCount(ledger.events)} events`);
    const rebuilt = await runJob({ job: 'rebuild', dir });
    progress('queries in process');
    const local = inProcess(join(dir, 'read.db'));
    progress('queries over HTTP, one at a time, from the all-in-one ledger');
    const started = await startLedger(dir, { adminKey: ADMIN_KEY, logLevel: 'warn' });
    ledgerProcess = started.child;
    let remote;
    try {
      remote = await overHttp(started.url);
    } finally {
      await stop(started.child);
    }
    const typicalClaims = Math.round(CLAIMS / ACTORS);
    const asOfHttp = (which) =>
      formatMs(percentile(remote.find((row) => row.which === which && row.kind === KINDS[1]).samples, 0.99));
    const asOfLocal = (which) =>
      formatMs(percentile(local.find((row) => row.which === which && row.kind === KINDS[1]).samples, 0.99));
    console.log(
      [
        `## Queries: ${formatCount(CLAIMS)} claims`,
        '',
        `- Ledger: ${formatCount(ledger.claims)} claims, ${formatCount(ledger.events)} events, over ` +
          `${formatCount(ACTORS)} actors (about ${typicalClaims} claims each) plus one hot actor with every ` +
          `${HOT_EVERY}th claim (${formatCount(CLAIMS / HOT_EVERY)}); generated by \`bench/lib/ledger-events.js\` ` +
          `through the store${ledger.generated === undefined ? `, reused from \`${ledger.dir}\`` : ' by this run'}. ` +
          `Read models rebuilt by \`runRebuild\` in ${rebuilt.seconds.toFixed(1)} s ` +
          `(${formatCount(rebuilt.events / rebuilt.seconds)} events/s).`,
        '- In process: `LedgerQueries` on that read.db, one call at a time. HTTP: the all-in-one ledger ' +
          '(`services/ledger/dist/main.js`, `LOG_LEVEL=warn`) on the same data dir, one request at a time from ' +
          'this process (client round trip included). `asOf` moments are spread over the ledger’s time span.',
        '',
        table(local, remote),
        '',
        `**\`asOf\` p99: typical actor ${asOfLocal('typical')} ms in process, ${asOfHttp('typical')} ms over HTTP; ` +
          `hot actor ${asOfLocal('hot')} ms in process, ${asOfHttp('hot')} ms over HTTP** (issue 7’s target: ` +
          '< 10 ms at 100k claims).',
      ].join('\n'),
    );
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    if (ledgerProcess !== undefined) await stop(ledgerProcess);
    rmSync(dir, { recursive: true, force: true });
  }
}
