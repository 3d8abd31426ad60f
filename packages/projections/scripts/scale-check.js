#!/usr/bin/env node
/**
 * Scale check of the read models (not part of `npm test`: it takes about a minute). Builds a ledger of
 * CLAIMS claims (default 100 000) over ACTORS actors, a fifth of them denied and a tenth confirmed, plus one
 * hot actor with HOT claims, in a temp SQLite event store; then measures a rebuild from zero, a live catch-up
 * by the runtime, and the latency of the queries (`getActor` with cut-offs on a typical and on the hot actor,
 * list pages, audit pages).
 *
 *   npx tsc -b && node packages/projections/scripts/scale-check.js
 *   CLAIMS=20000 node packages/projections/scripts/scale-check.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { LedgerQueries, ProjectionRuntime, ReadModels, rebuild } from '@ledger/projections';
import { pino } from 'pino';

const CLAIMS = Number(process.env.CLAIMS ?? 100_000);
const ACTORS = Number(process.env.ACTORS ?? 2_000);
const HOT = Number(process.env.HOT ?? 5_000);
const dir = mkdtempSync(join(tmpdir(), 'ledger-scale-'));
const logger = pino({ level: 'silent' });
const states = ['CN', 'RU', 'IR', 'KP', 'US', 'IL', 'GB', 'FR'];
const claimIdOf = (i) => `0174776e-8a00-7000-8000-${i.toString(16).padStart(12, '0')}`;
const at = (minutes) => new Date(Date.UTC(2015, 0, 1) + minutes * 60_000).toISOString();
const meta = (i, recordedAt) => ({
  recordedAt,
  principal: 'key-scale',
  requestId: `r${i}`,
  correlationId: `r${i}`,
  schemaVersion: 1,
});

function eventsOf(i) {
  const actor = i < HOT ? 'Hot Actor' : `Actor ${i % ACTORS}`;
  const claimId = claimIdOf(i + 1);
  const statedAt = at(i);
  const events = [
    {
      type: 'ClaimMade',
      data: {
        claimId,
        claimant: { id: `vendor-${i % 50}`, name: `Vendor ${i % 50}`, kind: 'vendor' },
        actor: { id: actor.toLowerCase().replace(' ', '-'), name: actor, aliases: [`alias-${i % 7}`] },
        attribution: { state: states[i % states.length], relation: 'operating-from' },
        targets: ['organisations'],
        summary: `${actor} attacked organisations (claim ${i}).`,
        source: { url: `https://example.com/reports/${i}` },
        statedAt,
      },
      metadata: meta(i, at(i + 1)),
    },
  ];
  if (i % 5 === 1) {
    events.push({
      type: 'ClaimDenied',
      data: {
        claimId,
        denier: { id: 'cn-mfa', name: 'MFA', kind: 'government' },
        statement: 'Denied.',
        statedAt: at(i + 30),
      },
      metadata: meta(i, at(i + 31)),
    });
  }
  if (i % 10 === 2) {
    events.push({
      type: 'ClaimConfirmed',
      data: {
        claimId,
        confirmer: { id: 'us-dhs', name: 'DHS', kind: 'government' },
        statement: 'Confirmed.',
        statedAt: at(i + 60),
      },
      metadata: meta(i, at(i + 61)),
    });
  }
  return { stream: `claim-${claimId}`, events };
}

function percentiles(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const pick = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { p50: +pick(0.5).toFixed(3), p99: +pick(0.99).toFixed(3), max: +sorted.at(-1).toFixed(3) };
}

function time(samples, fn) {
  const started = performance.now();
  const result = fn();
  samples.push(performance.now() - started);
  return result;
}

const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
try {
  let started = performance.now();
  let events = 0;
  const inFlight = new Set();
  for (let i = 0; i < CLAIMS; i += 1) {
    const { stream, events: batch } = eventsOf(i);
    events += batch.length;
    const append = store.appendToStream(stream, batch, { expectedRevision: 'no_stream' });
    inFlight.add(append);
    void append.then(() => inFlight.delete(append));
    if (inFlight.size >= 512) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const appendSeconds = (performance.now() - started) / 1000;
  console.log(
    `ledger: ${CLAIMS} claims, ${events} events (hot actor: ${HOT} claims), appended in ${appendSeconds.toFixed(1)} s`,
  );

  let progress;
  for (const batchSize of [5000, 500]) {
    const rebuilt = ReadModels.open(join(dir, `rebuilt-${batchSize}.db`));
    started = performance.now();
    progress = await rebuild({ store, readModels: rebuilt, logger, batchSize });
    const rebuildSeconds = (performance.now() - started) / 1000;
    console.log(
      `rebuild from zero, ${batchSize} events per transaction: ${rebuildSeconds.toFixed(1)} s = ${Math.round(events / rebuildSeconds)} events/s`,
    );
    rebuilt.close();
  }

  const readModels = ReadModels.open(join(dir, 'read.db'));
  const runtime = new ProjectionRuntime({ store, readModels, logger });
  const queries = LedgerQueries.open(join(dir, 'read.db'), { runtime });
  started = performance.now();
  runtime.start();
  await queries.waitForPosition(progress.done, 600_000);
  const liveSeconds = (performance.now() - started) / 1000;
  console.log(`runtime catch-up: ${Math.round(events / liveSeconds)} events/s (${liveSeconds.toFixed(1)} s)`);

  const samples = { now: [], asOf: [], knownAt: [], both: [], hotAsOf: [], hotNow: [], disputes: [] };
  const listSamples = {
    claims: [],
    claimsByActor: [],
    actors: [],
    actorsByState: [],
    audit: [],
    auditByParty: [],
  };
  for (let n = 0; n < 500; n += 1) {
    const actorId = `actor-${(n * 7) % ACTORS}`;
    const moment = at(Math.floor(CLAIMS * (n / 500)));
    time(samples.now, () => queries.getActor(actorId));
    time(samples.asOf, () => queries.getActor(actorId, { asOf: moment }));
    time(samples.knownAt, () => queries.getActor(actorId, { knownAt: moment }));
    time(samples.both, () => queries.getActor(actorId, { asOf: moment, knownAt: moment }));
    time(samples.disputes, () => queries.getDisputes(actorId, { asOf: moment }));
    if (n < 50) {
      time(samples.hotNow, () => queries.getActor('hot-actor'));
      time(samples.hotAsOf, () => queries.getActor('hot-actor', { asOf: moment }));
    }
    let cursor;
    const page = time(listSamples.claims, () => queries.listClaims({ limit: 100, cursor }));
    cursor = page.next;
    time(listSamples.claimsByActor, () =>
      queries.listClaims({ actor: actorId, status: 'disputed', limit: 100 }),
    );
    time(listSamples.actors, () => queries.listActors({ limit: 100 }));
    time(listSamples.actorsByState, () =>
      queries.listActors({ state: 'KP', status: 'contested', limit: 100 }),
    );
    time(listSamples.audit, () => queries.audit({ types: ['ClaimDenied'], limit: 100 }));
    time(listSamples.auditByParty, () =>
      queries.audit({ party: 'us-dhs', recordedFrom: moment, limit: 100 }),
    );
  }
  console.log(
    `getActor latency in ms over a ${CLAIMS}-claim ledger (typical actor: ${Math.round(CLAIMS / ACTORS)} claims):`,
  );
  for (const [name, list] of Object.entries(samples)) console.log(`  ${name.padEnd(10)}`, percentiles(list));
  console.log('list and audit pages (limit 100), ms:');
  for (const [name, list] of Object.entries(listSamples))
    console.log(`  ${name.padEnd(14)}`, percentiles(list));

  await runtime.stop();
  queries.close();
  readModels.close();
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
