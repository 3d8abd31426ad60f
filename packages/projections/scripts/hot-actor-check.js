#!/usr/bin/env node
/**
 * Cost of one live batch on a hot actor (not part of `npm test`): folds HOT claims of one actor (default
 * 6 000), then times BATCHES single-event live batches that each touch it (the actors projection recomputes
 * its current summary every time).
 *
 *   npx tsc -b && node packages/projections/scripts/hot-actor-check.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryEventStore } from '@ledger/event-store';
import { ProjectionRuntime, ReadModels } from '@ledger/projections';
import { pino } from 'pino';

const HOT = Number(process.env.HOT ?? 6_000);
const BATCHES = Number(process.env.BATCHES ?? 40);
const dir = mkdtempSync(join(tmpdir(), 'ledger-hot-'));
const at = (minutes) => new Date(Date.UTC(2015, 0, 1) + minutes * 60_000).toISOString();
const claimMade = (i) => ({
  type: 'ClaimMade',
  data: {
    claimId: `0174776e-8a00-7000-8000-${(i + 1).toString(16).padStart(12, '0')}`,
    claimant: { id: `vendor-${i % 50}`, name: `Vendor ${i % 50}`, kind: 'vendor' },
    actor: { id: 'hot-actor', name: 'Hot Actor', aliases: [`alias-${i % 7}`] },
    attribution: { state: ['CN', 'RU', 'IR', 'KP'][i % 4], relation: 'operating-from' },
    targets: ['organisations'],
    summary: `Hot Actor attacked organisations (claim ${i}).`,
    source: { url: `https://example.com/reports/${i}` },
    statedAt: at(i),
  },
  metadata: {
    recordedAt: at(i + 1),
    principal: 'k',
    requestId: `r${i}`,
    correlationId: `r${i}`,
    schemaVersion: 1,
  },
});

const store = new InMemoryEventStore();
for (let i = 0; i < HOT; i += 1)
  await store.appendToStream(`claim-${claimMade(i).data.claimId}`, [claimMade(i)]);
const readModels = ReadModels.open(join(dir, 'read.db'));
const runtime = new ProjectionRuntime({ store, readModels, logger: pino({ level: 'silent' }) });
const waitFor = (position) =>
  new Promise((resolve) => {
    if (runtime.position() >= position) return resolve();
    const off = runtime.onProgress((p) => {
      if (p < position) return;
      off();
      resolve();
    });
  });
runtime.start();
await waitFor(HOT);
const times = [];
for (let i = HOT; i < HOT + BATCHES; i += 1) {
  const started = performance.now();
  await store.appendToStream(`claim-${claimMade(i).data.claimId}`, [claimMade(i)]);
  await waitFor(i + 1);
  times.push(performance.now() - started);
}
const batch = times.sort((a, b) => a - b);
console.log(
  `hot actor of ${HOT} claims: one live batch median ${batch[batch.length >> 1].toFixed(1)} ms, p90 ${batch[Math.floor(batch.length * 0.9)].toFixed(1)} ms`,
);
await runtime.stop();
readModels.close();
rmSync(dir, { recursive: true, force: true });
