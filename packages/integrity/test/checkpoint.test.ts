import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHECKPOINTS_FILE,
  CheckpointLog,
  checkpointPayload,
  INTEGRITY_KEY_FILE,
  IntegrityKey,
  verifyCheckpointSignature,
} from '@ledger/integrity';
import t from 'tap';

const unsigned = {
  treeSize: 3,
  rootHash: 'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  lastPosition: 3,
  signedAt: '2026-11-26T12:00:00.000Z',
};

t.test('the key is generated once, mode 0600, and read back the same', async (t) => {
  const dir = t.testdir();
  t.equal(IntegrityKey.load(dir), undefined, 'no key before the first start');
  const first = IntegrityKey.loadOrCreate(dir);
  t.equal(statSync(join(dir, INTEGRITY_KEY_FILE)).mode & 0o777, 0o600);
  const second = IntegrityKey.loadOrCreate(dir);
  t.same(second.info, first.info);
  t.equal(first.info.algorithm, 'Ed25519');
  t.equal(Buffer.from(first.info.publicKeyBase64, 'base64').length, 32);
  t.match(first.info.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
  t.match(first.info.keyId, /^[0-9a-f]{16}$/);
});

t.test('an empty key file (a crash of an older build while creating it) is replaced', async (t) => {
  const dir = t.testdir({ [INTEGRITY_KEY_FILE]: '' });
  t.equal(IntegrityKey.load(dir), undefined, 'no key to verify with');
  const key = IntegrityKey.loadOrCreate(dir);
  t.match(key.info, { algorithm: 'Ed25519' });
  t.same(IntegrityKey.load(dir)!.info, key.info, 'a whole key is kept now');
  t.equal(statSync(join(dir, INTEGRITY_KEY_FILE)).mode & 0o777, 0o600);
});

t.test('checkpoints are signed over their canonical payload', async (t) => {
  const key = IntegrityKey.loadOrCreate(t.testdir());
  const checkpoint = key.sign(unsigned);
  t.equal(
    checkpointPayload(checkpoint),
    '{"lastPosition":3,"rootHash":"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77","signedAt":"2026-11-26T12:00:00.000Z","treeSize":3}',
  );
  t.ok(key.verify(checkpoint));
  t.ok(verifyCheckpointSignature(checkpoint, key.info.publicKeyPem), 'with the PEM a third party fetched');
  t.notOk(key.verify({ ...checkpoint, treeSize: 4 }), 'another size');
  t.notOk(key.verify({ ...checkpoint, rootHash: '00'.repeat(32) }), 'another root');
  t.notOk(key.verify({ ...checkpoint, signature: 'bm90IGEgc2lnbmF0dXJl' }), 'a bad signature');
  const other = IntegrityKey.loadOrCreate(t.testdir());
  t.notOk(other.verify(checkpoint), 'another key');
  t.notOk(verifyCheckpointSignature(checkpoint, 'not a key'), 'a malformed key is a failure, not a throw');
});

t.test('the checkpoint log keeps every checkpoint, oldest first', async (t) => {
  const dir = t.testdir();
  const key = IntegrityKey.loadOrCreate(dir);
  const log = new CheckpointLog(dir);
  t.same(log.all(), []);
  t.equal(log.latest(), undefined);
  const a = key.sign(unsigned);
  const b = key.sign({ ...unsigned, treeSize: 4, lastPosition: 4 });
  log.append(a);
  log.append(b);
  t.same(log.all(), [a, b]);
  t.same(log.latest(), b);
  writeFileSync(join(dir, CHECKPOINTS_FILE), `${JSON.stringify(a)}\n{"treeSize":4,"ro`);
  t.same(log.all(), [a], 'a torn last line is skipped');
  log.append(b);
  t.same(log.all(), [a, b], 'and the next checkpoint starts a line of its own');
});
