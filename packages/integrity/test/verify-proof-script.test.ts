/**
 * The standalone verifier (bin/verify-proof.mjs), the file a third party copies: imported here for its
 * function, and run as a program for its command line.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SqliteEventStore } from '@ledger/event-store-sqlite';
import { LedgerIntegrity } from '@ledger/integrity';
import t, { type Test } from 'tap';

const script = fileURLToPath(new URL('../bin/verify-proof.mjs', import.meta.url));
const { verifyProof } = (await import(script)) as {
  verifyProof: (proof: unknown, key: string) => { ok: boolean; step: number; detail: string };
};

interface Proof {
  readonly event: { readonly metadata: Record<string, unknown>; readonly data: unknown } & Record<
    string,
    unknown
  >;
  readonly auditPath: string[];
  readonly checkpoint: Record<string, unknown>;
  readonly [field: string]: unknown;
}

async function proofAndKey(t: Test) {
  const dir = t.testdir();
  const store = await SqliteEventStore.open({ path: join(dir, 'events.db') });
  for (let i = 0; i < 5; i += 1) {
    await store.appendToStream(`s-${i}`, [
      { type: 'Counted', data: { i, text: 'naïve ✓' }, metadata: { n: i } },
    ]);
  }
  const integrity = LedgerIntegrity.open({ store, dataDir: dir });
  const proof = JSON.parse(JSON.stringify(await integrity.proof(3n))) as Proof;
  await store.close();
  return { dir, proof, key: integrity.publicKey.publicKeyPem };
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, ...args]);
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout, err: failed.stderr };
  }
}

t.test('the function: a real proof holds; each way to break it fails at its step', async (t) => {
  const { proof, key } = await proofAndKey(t);
  t.match(verifyProof(proof, key), { ok: true, detail: /position 3 is leaf 2 of the tree of 5 events/ });
  const { integrity: _integrity, ...unsealed } = proof.event.metadata;
  t.match(verifyProof({ ...proof, event: { ...proof.event, metadata: unsealed } }, key), {
    ok: false,
    step: 1,
    detail: /no metadata\.integrity/,
  });
  t.match(verifyProof({ ...proof, event: { ...proof.event, metadata: undefined } }, key), {
    ok: false,
    step: 1,
  });
  t.match(verifyProof({ ...proof, eventHash: '00'.repeat(32) }, key), { ok: false, step: 1 });
  t.match(verifyProof({ ...proof, leafIndex: 9 }, key), { ok: false, step: 2 }, 'an index outside the tree');
  t.match(verifyProof({ ...proof, auditPath: [...proof.auditPath, '00'.repeat(32)] }, key), {
    ok: false,
    step: 2,
  });
  t.match(verifyProof({ ...proof, auditPath: proof.auditPath.slice(1) }, key), { ok: false, step: 2 });
  t.match(verifyProof({ ...proof, checkpoint: { ...proof.checkpoint, signature: 'AA==' } }, key), {
    ok: false,
    step: 3,
  });
  t.match(verifyProof(proof, 'not a key'), { ok: false, step: 3 }, 'a key that does not parse');
  t.throws(
    () => verifyProof({ ...proof, event: { ...proof.event, data: { x: Number.NaN } } }, key),
    /non-finite/,
  );
  t.throws(
    () => verifyProof({ ...proof, event: { ...proof.event, data: { x: 'a\ud800' } } }, key),
    /lone surrogate/,
  );
});

t.test('the program: usage, unreadable input, a raw PEM key, a malformed proof', async (t) => {
  const { dir, proof, key } = await proofAndKey(t);
  const proofFile = join(dir, 'proof.json');
  const pemFile = join(dir, 'key.pem');
  writeFileSync(proofFile, JSON.stringify(proof));
  writeFileSync(pemFile, key);
  t.match(
    await run([proofFile, pemFile]),
    { code: 0, out: /^valid: / },
    'a PEM file works as well as key.json',
  );
  t.match(await run([]), { code: 2, err: /usage: node verify-proof\.mjs/ });
  t.match(await run([join(dir, 'missing.json'), pemFile]), { code: 2, err: /verify-proof: .*ENOENT/ });
  const malformed = join(dir, 'malformed.json');
  writeFileSync(malformed, JSON.stringify({ event: null }));
  t.match(await run([malformed, pemFile]), { code: 1, out: /INVALID \(step 0\): malformed proof/ });
});
