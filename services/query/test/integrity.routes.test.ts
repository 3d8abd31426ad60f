import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '@ledger/config';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { StateStore } from '@ledger/http';
import { IntegrityKey, LedgerIntegrity } from '@ledger/integrity';
import { LedgerQueries, ReadModels } from '@ledger/projections';
import { buildQueryApp } from '@ledger/query';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t, { type Test } from 'tap';

const ADMIN_KEY = 'query-integrity-admin-key-0123456789abcdefghij';
const verifier = fileURLToPath(new URL('../../../packages/integrity/bin/verify-proof.mjs', import.meta.url));

async function setup(t: Test, events = 5) {
  const dir = t.testdir();
  const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
  for (let i = 1; i <= events; i += 1) {
    await store.appendToStream(`claim-${i}`, [
      { type: 'ClaimMade', data: { n: i, summary: `claim ${i}` }, metadata: { recordedAt: `2020-09-1${i}` } },
    ]);
  }
  const readModels = ReadModels.open(join(dir, 'read.db'));
  const queries = LedgerQueries.open(join(dir, 'read.db'));
  const state = StateStore.open(join(dir, 'state.db'), { scryptCost: 1024 });
  await state.keys.ensureBootstrapAdmin({ adminKey: ADMIN_KEY, dataDir: dir });
  const reader = await state.keys.create({ name: 'reader', scopes: ['read'] });
  const writer = await state.keys.create({ name: 'writer', scopes: ['claims:write'] });
  const config = loadConfig({ LEDGER_DATA_DIR: dir, LEDGER_ADMIN_KEY: ADMIN_KEY });
  const integrity = LedgerIntegrity.open({ store, dataDir: dir });
  const app = await buildQueryApp({ queries, state, config, logger: pino({ level: 'silent' }), integrity });
  t.teardown(async () => {
    await app.close();
    queries.close();
    readModels.close();
    state.close();
    await store.close();
  });
  const get = (url: string, key: string | null = reader.key) =>
    app.inject({ method: 'GET', url, headers: key === null ? {} : { authorization: `Bearer ${key}` } });
  return { dir, store, app, get, writerKey: writer.key };
}

/** Runs the standalone verifier on a proof and the served key; resolves with its exit code and output. */
async function runVerifier(
  dir: string,
  proof: unknown,
  key: unknown,
): Promise<{ code: number; out: string }> {
  const proofFile = join(dir, `proof-${Math.random().toString(36).slice(2)}.json`);
  const keyFile = join(dir, 'key.json');
  writeFileSync(proofFile, JSON.stringify(proof));
  writeFileSync(keyFile, JSON.stringify(key));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [verifier, proofFile, keyFile]);
    return { code: 0, out: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, out: failed.stdout };
  }
}

t.test('GET /v1/integrity/key serves the public key without a key', async (t) => {
  const { get, dir } = await setup(t);
  const response = await get('/v1/integrity/key', null);
  t.equal(response.statusCode, 200);
  const body = response.json();
  t.match(body, {
    algorithm: 'Ed25519',
    publicKeyPem: /^-----BEGIN PUBLIC KEY-----/,
    keyId: /^[0-9a-f]{16}$/,
  });
  const again = IntegrityKey.load(dir)?.info;
  t.same(body, again, 'the key kept in the data dir');
});

t.test(
  'GET /v1/integrity verifies, signs a checkpoint when the log grew, and needs the read scope',
  async (t) => {
    const { get, store, writerKey } = await setup(t);
    t.equal((await get('/v1/integrity', null)).statusCode, 401);
    const forbidden = await get('/v1/integrity', writerKey);
    t.equal(forbidden.statusCode, 403);
    t.match(forbidden.headers['content-type'], /^application\/problem\+json/);

    const first = await get('/v1/integrity');
    t.equal(first.statusCode, 200);
    const body = first.json();
    t.match(body, { ok: true, checkedEvents: 5, checkpoint: { treeSize: 5, lastPosition: 5 } });
    t.notOk('firstBadPosition' in body);
    const again = (await get('/v1/integrity')).json();
    t.same(again.checkpoint, body.checkpoint, 'no new checkpoint while the log has not grown');

    await store.appendToStream('claim-6', [{ type: 'ClaimMade', data: { n: 6 } }]);
    t.match((await get('/v1/integrity')).json(), { ok: true, checkedEvents: 6, checkpoint: { treeSize: 6 } });
  },
);

t.test('GET /v1/integrity/proof/:position', async (t) => {
  const { get, dir } = await setup(t, 7);
  const key = (await get('/v1/integrity/key', null)).json();

  t.test('a proof that the standalone verifier accepts, and rejects once altered', async (t) => {
    const response = await get('/v1/integrity/proof/3');
    t.equal(response.statusCode, 200);
    const proof = response.json();
    t.match(proof, {
      position: 3,
      leafIndex: 2,
      treeSize: 7,
      event: { position: 3, streamId: 'claim-3', revision: 0, data: { n: 3 } },
    });
    t.equal(proof.rootHash, proof.checkpoint.rootHash);
    t.equal(proof.auditPath.length, 3, 'a tree of 7 leaves is 3 levels deep');

    const valid = await runVerifier(dir, proof, key);
    t.equal(valid.code, 0, valid.out);
    t.match(valid.out, /^valid: event .* at position 3 is leaf 2 of the tree of 7 events/);

    const edited = { ...proof, event: { ...proof.event, data: { n: 4 } } };
    t.match(await runVerifier(dir, edited, key), { code: 1, out: /step 1/ }, 'an edited event');
    const moved = { ...proof, leafIndex: 3 };
    t.match(await runVerifier(dir, moved, key), { code: 1, out: /step 2/ }, 'another index');
    const path = { ...proof, auditPath: [proof.auditPath[1], proof.auditPath[0], proof.auditPath[2]] };
    t.match(await runVerifier(dir, path, key), { code: 1, out: /step 2/ }, 'a reordered audit path');
    const forged = { ...proof, checkpoint: { ...proof.checkpoint, signedAt: '2030-01-01T00:00:00.000Z' } };
    t.match(await runVerifier(dir, forged, key), { code: 1, out: /step 3/ }, 'an edited checkpoint');
    const otherKey = IntegrityKey.loadOrCreate(t.testdir()).info;
    t.match(await runVerifier(dir, proof, otherKey), { code: 1, out: /step 3/ }, 'another key');
  });

  t.test('every position of the log has a valid proof', async (t) => {
    for (let position = 1; position <= 7; position += 1) {
      const proof = (await get(`/v1/integrity/proof/${position}`)).json();
      t.equal((await runVerifier(dir, proof, key)).code, 0, `position ${position}`);
    }
  });

  t.test('an unknown position is 404; a malformed one 400', async (t) => {
    const missing = await get('/v1/integrity/proof/8');
    t.equal(missing.statusCode, 404);
    t.match(missing.json(), { type: 'https://attribution-ledger.dev/problems/event-not-found', status: 404 });
    for (const bad of ['0', '-1', 'abc', '1.5', '1e3', '9'.repeat(19)]) {
      const response = await get(`/v1/integrity/proof/${bad}`);
      t.equal(response.statusCode, 400, bad);
      t.match(response.json(), { errors: [{ path: 'params.position' }] }, bad);
    }
    t.equal((await get('/v1/integrity/proof/1', null)).statusCode, 401);
  });

  t.test('unknown query parameters are 400, as on every route', async (t) => {
    for (const path of ['/v1/integrity?foo=1', '/v1/integrity/key?foo=1', '/v1/integrity/proof/1?foo=1']) {
      const response = await get(path);
      t.equal(response.statusCode, 400, path);
      t.match(response.json(), { errors: [{ path: 'querystring.foo', message: 'unknown field' }] }, path);
    }
  });
});

t.test('a tampered log: the report names the position, and proofs are refused', async (t) => {
  const { get, dir } = await setup(t, 6);
  t.match((await get('/v1/integrity')).json(), { ok: true, checkpoint: { treeSize: 6 } });
  const db = new Database(join(dir, 'events.db'));
  db.prepare(`UPDATE events SET data = '{"n":40,"summary":"claim 4"}' WHERE position = 4`).run();
  db.close();

  const report = await get('/v1/integrity');
  t.equal(report.statusCode, 200);
  t.match(report.json(), {
    ok: false,
    checkedEvents: 3,
    firstBadPosition: 4,
    reason: 'hash-mismatch',
    checkpoint: { treeSize: 6 },
  });
  const proof = await get('/v1/integrity/proof/2');
  t.equal(proof.statusCode, 503);
  t.match(proof.json(), {
    type: 'https://attribution-ledger.dev/problems/integrity-failure',
    detail: /at position 4/,
  });
});
