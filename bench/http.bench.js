/**
 * The `http` suite: the real all-in-one ledger process (`services/ledger/dist/main.js`) on a temporary data dir,
 * loaded over HTTP by autocannon from a process of its own, beside ceilings measured in the same run: a bare
 * fastify route answering 201 (the HTTP ceiling), the naive ledger path (one fsync'd SQLite transaction per
 * request) and the store's own append rate (the ingest ceiling). Then read latency on the ledger it seeded,
 * the lag from a 201 to the event visible in a read (`minPosition`) and over SSE, and the ledger's RSS.
 * The machine is shared and noisy: read the ratios of one run, not the absolute numbers.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LedgerQueries } from '@ledger/projections';
import { claimRequestBody, requestActorId } from './lib/claim-events.js';
import { followKafka, kafkaForBench, stopBrokersSync } from './lib/kafka-broker.js';
import { freePort, sleep, startLedger, stop } from './lib/ledger-process.js';
import { formatCount, formatMs, formatRatio, markdownTable } from './lib/markdown.js';
import { percentile } from './lib/stats.js';
import { storeAppendRate } from './store.bench.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const LOAD = join(HERE, 'lib', 'http-load.js');
const CEILING = join(HERE, 'lib', 'ceiling-server.js');

/** Seconds per load run (`BENCH_HTTP_SECONDS`, default 4). */
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 4);
/**
 * Seconds of background ingest during which the lag probes run (`BENCH_LAG_SECONDS`, default 20): at one probe
 * at a time, 8 s gave 70-140 probes under load, whose p99 is the second-largest sample; 20 s gives about 300.
 */
const LAG_SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 20);
/** Concurrent connections of the ingest runs (`BENCH_HTTP_CONNECTIONS`, default `1,16,64,256`). */
const CONNECTIONS = (process.env.BENCH_HTTP_CONNECTIONS ?? '1,16,64,256').split(',').map(Number);
/** The ledger's `LOG_LEVEL` (`BENCH_LEDGER_LOG_LEVEL`, default `info` as shipped: one line per request). */
const LOG_LEVEL = process.env.BENCH_LEDGER_LOG_LEVEL ?? 'info';
const READ_CONNECTIONS = 16;
const LAG_LOAD_CONNECTIONS = 64;
const IDLE_PROBES = 200;
const ADMIN_KEY = `bench-admin-${randomBytes(24).toString('hex')}`;
const AUTH = { authorization: `Bearer ${ADMIN_KEY}` };

function progress(message) {
  process.stderr.write(`  ${message}\n`);
}

/** A ceiling server (`bare` or `naive`) in its own process. */
async function startCeiling(mode, dataDir) {
  const port = await freePort();
  const child = fork(CEILING, [mode, String(port), dataDir], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the ${mode} ceiling exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** Runs one autocannon job in a process of its own (`lib/http-load.js`) and returns its summary. */
function load(job) {
  return new Promise((resolve, reject) => {
    const child = fork(LOAD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result;
    child.once('message', (message) => {
      result = message;
    });
    child.once('exit', (code) =>
      result === undefined ? reject(new Error(`the load generator exited with ${code}`)) : resolve(result),
    );
    child.send(job);
  });
}

/** The value of the first sample of `name` in a Prometheus text exposition (NaN when absent). */
function sample(text, name) {
  const line = text
    .split('\n')
    .find((candidate) => candidate.startsWith(`${name}{`) || candidate.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function scrape(url) {
  return (await fetch(`${url}/metrics`)).text();
}

/** Waits until the projector has folded everything (`ledger_projector_lag_events` 0); returns the ms it took. */
async function caughtUp(url) {
  const started = performance.now();
  for (;;) {
    if (sample(await scrape(url), 'ledger_projector_lag_events') === 0) return performance.now() - started;
    await sleep(50);
  }
}

function describeFailures(result) {
  const bad = Object.entries(result.statusCodes).filter(([code]) => !code.startsWith('2'));
  const parts = bad.map(([code, count]) => `${count}×${code}`);
  if (result.errors > 0) parts.push(`${result.errors} errors`);
  return parts.length === 0 ? '' : parts.join(', ');
}

/** Ingest at each connection count: bare fastify, the naive path and the ledger, one after the other. */
async function measureIngest(servers) {
  const rows = [];
  let sequence = 0;
  progress(`ledger warm-up: ${SECONDS} s at 16 connections`);
  const warm = await load({
    url: servers.ledger.url,
    connections: 16,
    seconds: SECONDS,
    kind: 'claims',
    headers: AUTH,
  });
  sequence += warm.requests;
  let ingested = warm.statusCodes['201'] ?? 0;
  for (const connections of CONNECTIONS) {
    const row = { connections };
    for (const which of ['bare', 'naive', 'ledger']) {
      progress(`ingest, ${connections} connection(s): ${which}, ${SECONDS} s`);
      const before = which === 'ledger' ? await scrape(servers.ledger.url) : undefined;
      row[which] = await load({
        url: servers[which].url,
        connections,
        seconds: SECONDS,
        kind: 'claims',
        headers: AUTH,
        sequenceStart: which === 'ledger' ? sequence : 0,
      });
      if (which === 'ledger') {
        sequence += row.ledger.requests;
        ingested += row.ledger.statusCodes['201'] ?? 0;
        const after = await scrape(servers.ledger.url);
        const delta = (name) => sample(after, name) - sample(before, name);
        row.appendsPerCommit =
          delta('ledger_store_commit_appends_sum') / delta('ledger_store_commit_appends_count');
        row.projectorLag = sample(after, 'ledger_projector_lag_events');
      }
    }
    const appends = connections === 1 ? 1_500 : 10_000;
    progress(`ingest, ${connections} connection(s): the store alone, ${formatCount(appends)} appends`);
    row.store = await storeAppendRate({ appenders: connections, appends, warmUp: appends / 10 });
    rows.push(row);
  }
  return { rows, ingested };
}

/** Read latency on the seeded ledger, beside nothing but the bare ceiling's POST rate at the same concurrency. */
async function measureReads(url) {
  const actorId = requestActorId(1);
  const routes = [
    { label: 'GET /v1/actors/:actorId', path: `/v1/actors/${actorId}` },
    { label: 'GET /v1/claims?actor=&limit=100', path: `/v1/claims?actor=${actorId}&limit=100` },
    { label: 'GET /v1/actors/:actorId?asOf=', path: `/v1/actors/${actorId}?asOf=2025-06-01T00:00:00Z` },
  ];
  const results = [];
  for (const route of routes) {
    progress(`reads: ${route.label}, ${SECONDS} s at ${READ_CONNECTIONS} connections`);
    const result = await load({
      url,
      connections: READ_CONNECTIONS,
      seconds: SECONDS,
      kind: 'get',
      path: route.path,
      headers: AUTH,
    });
    results.push({ ...route, result });
  }
  return { actorId, results };
}

/** Follows `GET /v1/subscriptions/claims` from `from`; `seen(claimId)` resolves with when it arrived. */
async function followSse(url, from) {
  const controller = new AbortController();
  const response = await fetch(`${url}/v1/subscriptions/claims?from=${from}`, {
    headers: AUTH,
    signal: controller.signal,
  });
  const arrived = new Map();
  const waiting = new Map();
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const now = performance.now();
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split('\n').find((line) => line.startsWith('data: '));
          if (data !== undefined) {
            const { claimId } = JSON.parse(data.slice(6));
            arrived.set(claimId, now);
            waiting.get(claimId)?.(now);
          }
          end = buffer.indexOf('\n\n');
        }
      }
    } catch (error) {
      if (error.name !== 'AbortError') throw error;
    }
  })();
  return {
    seen: (claimId) =>
      arrived.has(claimId)
        ? Promise.resolve(arrived.get(claimId))
        : new Promise((resolve) => waiting.set(claimId, resolve)),
    close: async () => {
      controller.abort();
      await pump;
    },
  };
}

/**
 * Watches the ledger's read.db from this process on a connection of its own, as a query service in a process
 * of its own does (`LedgerQueries.waitForPosition`), but checking `data_version` every millisecond where that
 * service checks every 10 ms by default: `seen(position)` resolves with when the projector's commit of that
 * position became visible, with no HTTP request in the way. A wait that `close()` interrupts rejects.
 */
function followReadDb(dataDir) {
  const queries = LedgerQueries.open(join(dataDir, 'read.db'), { pollIntervalMs: 1 });
  return {
    seen: async (position) => {
      if (!(await queries.waitForPosition(position, 30_000)))
        throw new Error(`position ${position} did not reach read.db within 30 s, or the suite stopped`);
      return performance.now();
    },
    close: () => queries.close(),
  };
}

/**
 * One probe: POST a claim, then time its 201, its commit in read.db, its read with `minPosition`, its SSE
 * delivery and, when a Kafka consumer is given, its record arriving from the relay.
 */
async function probe(url, followers, sequence, samples) {
  const sent = performance.now();
  const response = await fetch(`${url}/v1/claims`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify(claimRequestBody(sequence)),
  });
  const { claimId, position } = await response.json();
  const acknowledged = performance.now();
  if (response.status !== 201) throw new Error(`probe POST answered ${response.status}`);
  const delivered = followers.sse.seen(claimId);
  const projected = followers.readDb.seen(position);
  // Awaited after the read below: if that read throws, the probe ends and closing the follower rejects this
  // wait, which must not surface as an unhandled rejection that kills the suite before it cleans up.
  projected.catch(() => {});
  const published = followers.kafka?.seen(claimId);
  const read = await fetch(`${url}/v1/claims/${claimId}?minPosition=${position}`, { headers: AUTH });
  await read.arrayBuffer();
  const visible = performance.now();
  if (read.status !== 200) throw new Error(`probe read answered ${read.status}`);
  samples.post.push(acknowledged - sent);
  samples.read.push(visible - acknowledged);
  samples.projected.push((await projected) - acknowledged);
  samples.sse.push((await delivered) - acknowledged);
  if (published !== undefined) samples.kafka.push((await published) - acknowledged);
}

/** Lag probes on an idle ledger, then under a background ingest load; `kafka` is an optional consumer. */
async function measureLag(url, dataDir, kafka) {
  await caughtUp(url);
  const from = sample(await scrape(url), 'ledger_projector_position');
  const readDb = followReadDb(dataDir);
  let sse;
  const idle = { post: [], projected: [], read: [], sse: [], kafka: [] };
  const loaded = { post: [], projected: [], read: [], sse: [], kafka: [] };
  const what = kafka === undefined ? '' : ' (ledger with the Kafka relay)';
  try {
    sse = await followSse(url, from);
    const followers = { sse, readDb, kafka };
    progress(`lag${what}: ${IDLE_PROBES} probes on an idle ledger`);
    for (let index = 0; index < IDLE_PROBES; index += 1) await probe(url, followers, 1_000_000 + index, idle);
    progress(`lag${what}: probes for ${LAG_SECONDS} s under ${LAG_LOAD_CONNECTIONS} connections of ingest`);
    const background = load({
      url,
      connections: LAG_LOAD_CONNECTIONS,
      seconds: LAG_SECONDS,
      kind: 'claims',
      headers: AUTH,
      sequenceStart: 2_000_000,
    });
    let running = true;
    background.finally(() => {
      running = false;
    });
    await sleep(500); // let the load reach its plateau
    for (let index = 0; running; index += 1) await probe(url, followers, 3_000_000 + index, loaded);
    const load64 = await background;
    return { idle, loaded, load64 };
  } finally {
    readDb.close();
    await sse?.close();
  }
}

/**
 * The same lag probes on a second, fresh ledger started with `KAFKA_BROKERS` (so its relay publishes every
 * claim), adding "201 → delivered by Kafka". A fresh data dir, so the relay has no backlog to publish first.
 * Returns `{ skip }` when no broker can be had.
 */
async function measureKafkaLag(dir, children) {
  const broker = await kafkaForBench(dir, progress);
  if (broker.skip !== undefined) return { skip: broker.skip };
  let ledger;
  let consumer;
  try {
    const dataDir = join(dir, 'ledger-kafka');
    ledger = await startLedger(dataDir, {
      adminKey: ADMIN_KEY,
      logLevel: LOG_LEVEL,
      kafkaBrokers: broker.brokers,
      env: { KAFKA_TOPIC_PREFIX: broker.topicPrefix },
    });
    children.push(ledger.child);
    progress(`kafka: consuming ${broker.topicPrefix}attribution.claims from ${broker.brokers}`);
    consumer = await followKafka(broker);
    const lag = await measureLag(ledger.url, dataDir, consumer);
    return { ...lag, broker };
  } finally {
    await consumer?.close();
    if (ledger !== undefined) await stop(ledger.child);
    await broker.stop();
  }
}

function ingestTable(rows) {
  const body = rows.map((row) => {
    const ledger = row.ledger;
    const failures = [describeFailures(row.bare), describeFailures(row.naive), describeFailures(ledger)]
      .map((text, index) => (text === '' ? '' : `${['bare', 'naive', 'ledger'][index]}: ${text}`))
      .filter((text) => text !== '')
      .join('; ');
    return [
      String(row.connections),
      formatCount(ledger.rate),
      formatMs(ledger.p50),
      formatMs(ledger.p99),
      row.appendsPerCommit.toFixed(1),
      formatCount(row.bare.rate),
      formatCount(row.naive.rate),
      formatCount(row.store.rate),
      formatRatio(ledger.rate / row.bare.rate),
      formatRatio(ledger.rate / row.naive.rate),
      formatRatio(ledger.rate / row.store.rate),
      failures === '' ? '—' : failures,
    ];
  });
  return markdownTable(
    [
      'connections',
      'ledger claims/s',
      'p50 ms',
      'p99 ms',
      'appends/commit',
      'bare fastify req/s',
      'naive path req/s',
      'store appends/s',
      '÷ bare',
      '÷ naive',
      '÷ store',
      'non-2xx / errors',
    ],
    body,
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
}

function readTable({ results }, bareAt16) {
  return markdownTable(
    ['route', 'req/s', 'p50 ms', 'p99 ms', '÷ bare POST at 16', 'non-2xx / errors'],
    results.map(({ label, result }) => [
      label,
      formatCount(result.rate),
      formatMs(result.p50),
      formatMs(result.p99),
      bareAt16 === undefined ? '—' : formatRatio(result.rate / bareAt16),
      describeFailures(result) || '—',
    ]),
    [1, 2, 3, 4],
  );
}

function lagTable({ idle, loaded, load64 }, kafka) {
  const line = (label, samples, withKafka) => [
    label,
    String(samples.post.length),
    formatMs(percentile(samples.post, 0.5)),
    formatMs(percentile(samples.post, 0.99)),
    formatMs(percentile(samples.projected, 0.5)),
    formatMs(percentile(samples.projected, 0.99)),
    formatMs(percentile(samples.read, 0.5)),
    formatMs(percentile(samples.read, 0.99)),
    formatMs(percentile(samples.sse, 0.5)),
    formatMs(percentile(samples.sse, 0.99)),
    withKafka ? formatMs(percentile(samples.kafka, 0.5)) : '—',
    withKafka ? formatMs(percentile(samples.kafka, 0.99)) : '—',
  ];
  const loadedLabel = `under ${LAG_LOAD_CONNECTIONS} connections of ingest`;
  const rows = [line('idle, no Kafka', idle, false), line(`${loadedLabel}, no Kafka`, loaded, false)];
  if (kafka.skip === undefined) {
    rows.push(
      line('idle, with the Kafka relay', kafka.idle, true),
      line(`${loadedLabel}, with the Kafka relay`, kafka.loaded, true),
    );
  }
  const background = (result, what) =>
    `The background load ${what} ingested ${formatCount(result.rate)} claims/s (p99 ${formatMs(result.p99)} ms` +
    `${describeFailures(result) ? `; ${describeFailures(result)}` : ''}).`;
  return [
    markdownTable(
      [
        'ledger',
        'probes',
        'POST p50 ms',
        'POST p99 ms',
        '201 → in read.db p50',
        '201 → in read.db p99',
        '201 → read p50',
        '201 → read p99',
        '201 → SSE p50',
        '201 → SSE p99',
        '201 → Kafka p50',
        '201 → Kafka p99',
      ],
      rows,
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    ),
    '',
    background(load64, 'without Kafka'),
    kafka.skip === undefined
      ? `${background(kafka.load64, 'with the Kafka relay')} Kafka: ${kafka.broker.origin} (\`${kafka.broker.brokers}\`).`
      : `201 → delivered by Kafka: skipped: no broker (${kafka.skip}).`,
  ].join('\n');
}

/** Runs the suite and prints its Markdown section to stdout; progress goes to stderr. */
export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-http-'));
  const children = [];
  const cleanUp = async () => {
    await Promise.all(children.map(stop));
    rmSync(dir, { recursive: true, force: true });
  };
  const onInterrupt = () => {
    for (const child of children) child.kill('SIGKILL');
    stopBrokersSync();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    const started = performance.now();
    const servers = {};
    // No Kafka here: this part measures ingest, projection and reads.
    servers.ledger = await startLedger(join(dir, 'ledger'), { adminKey: ADMIN_KEY, logLevel: LOG_LEVEL });
    children.push(servers.ledger.child);
    for (const mode of ['bare', 'naive']) {
      servers[mode] = await startCeiling(mode, dir);
      children.push(servers[mode].child);
    }
    const ingest = await measureIngest(servers);
    await stop(servers.bare.child);
    await stop(servers.naive.child);
    progress('waiting for the projector to fold the ingested claims');
    const drainMs = await caughtUp(servers.ledger.url);
    const seeded = sample(await scrape(servers.ledger.url), 'ledger_projector_position');
    const reads = await measureReads(servers.ledger.url);
    const lag = await measureLag(servers.ledger.url, join(dir, 'ledger'));
    await caughtUp(servers.ledger.url);
    const metrics = await scrape(servers.ledger.url);
    const rss = sample(metrics, 'ledger_process_resident_memory_bytes');
    const events = sample(metrics, 'ledger_projector_position');
    await stop(servers.ledger.child);
    const kafkaLag = await measureKafkaLag(dir, children);
    const minutes = (performance.now() - started) / 60_000;
    const bareAt16 = ingest.rows.find((row) => row.connections === READ_CONNECTIONS)?.bare.rate;
    console.log(
      [
        '## HTTP: the all-in-one ledger process',
        '',
        `- \`services/ledger/dist/main.js\` on a fresh data dir, \`LOG_LEVEL=${LOG_LEVEL}\`, no Kafka; the admin key ` +
          '(exempt from rate limits). Load from autocannon in a process of its own; each run lasts ' +
          `${SECONDS} s (\`BENCH_HTTP_SECONDS\`). Every claim body differs; claims spread over 300 actors.`,
        '- Ceilings from the same run, each in its own process: **bare** fastify (no logging, no validation) ' +
          'answering `POST /v1/claims` with 201; the **naive** path, the same plus one fsync’d better-sqlite3 ' +
          'transaction per request (no group commit); the **store** alone, `SqliteEventStore.appendToStream` ' +
          'with as many concurrent appenders as connections (no HTTP). "÷" divides the ledger’s rate by each.',
        '- "appends/commit" is the ledger’s mean group commit during the run (from its `/metrics`).',
        '',
        '### Ingest: `POST /v1/claims`',
        '',
        ingestTable(ingest.rows),
        '',
        `The projector folded the last of the ${formatCount(ingest.ingested)} ingested claims ` +
          `${formatCount(drainMs)} ms after the last run ended.`,
        '',
        `### Reads on the seeded ledger (${formatCount(seeded)} events), ${READ_CONNECTIONS} connections, actor \`${reads.actorId}\``,
        '',
        readTable(reads, bareAt16),
        '',
        '### Lag: from the 201 to the event in read.db, visible in a read (`minPosition`), delivered over SSE and by Kafka',
        '',
        'Probes run one at a time from the suite’s process: POST a claim, then `GET /v1/claims/:id?minPosition=` ' +
          'and wait for it on `GET /v1/subscriptions/claims` and, on a second fresh ledger started with ' +
          '`KAFKA_BROKERS` (its relay on), for its record on the `attribution.claims` topic (a kafkajs consumer ' +
          'in this process). "201 → in read.db" is when the projector’s commit of the claim became visible to a ' +
          'reader of read.db in this process (`LedgerQueries.waitForPosition` on a connection of its own, as a ' +
          'query service in a process of its own waits, but checking `data_version` every millisecond where ' +
          'that service checks every 10 ms), with no HTTP request in the way. ' +
          '"201 → read" includes that read’s own round trip, which under load waits its turn behind the ' +
          'background connections’ POSTs.',
        '',
        lagTable(lag, kafkaLag),
        '',
        `### Memory: the ledger’s RSS after the run: ${formatCount(rss / 1_048_576)} MiB ` +
          `(${formatCount(events)} events in the store and the read models; the suite took ${minutes.toFixed(1)} min)`,
      ].join('\n'),
    );
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    await cleanUp();
  }
}
