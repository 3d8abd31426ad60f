import { createHash } from 'node:crypto';
import { inclusionProof, leafHash, merkleRoot, nodeHash, verifyInclusion } from '@ledger/integrity';
import fc from 'fast-check';
import t from 'tap';

const sha256 = (...parts: Buffer[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

// The RFC 6962 test data of Certificate Transparency's reference implementations: leaves are raw entries,
// leaf nodes SHA-256(0x00 || entry).
const entries = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
const leaves = entries.map((hex) => sha256(Buffer.from([0]), Buffer.from(hex, 'hex')));
const roots = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** RFC 6962 §2.1 MTH, written recursively as the RFC states it. */
function referenceRoot(items: readonly Buffer[]): Buffer {
  if (items.length === 0) return sha256();
  if (items.length === 1) return items[0]!;
  let k = 1;
  while (k * 2 < items.length) k *= 2;
  return sha256(Buffer.from([1]), referenceRoot(items.slice(0, k)), referenceRoot(items.slice(k)));
}

function randomLeaves(n: number, seed: number): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    leafHash(createHash('sha256').update(`${seed}:${i}`).digest('hex')),
  );
}

t.test('known roots (RFC 6962 test vectors)', async (t) => {
  t.equal(merkleRoot([]).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  roots.forEach((root, i) => {
    t.equal(merkleRoot(leaves, i + 1).toString('hex'), root, `tree of ${i + 1}`);
  });
  t.throws(() => merkleRoot(leaves, 9), RangeError);
});

t.test('known audit path (RFC 6962 test vectors)', async (t) => {
  t.same(
    inclusionProof(leaves, 0, 8).map((node) => node.toString('hex')),
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  );
  t.same(inclusionProof(leaves, 0, 1), [], 'a tree of one has an empty path');
  t.throws(() => inclusionProof(leaves, 8, 8), RangeError);
});

t.test('leaf and node hashes are domain-separated', async (t) => {
  const event = 'ab'.repeat(32);
  t.equal(
    leafHash(event).toString('hex'),
    sha256(Buffer.from([0]), Buffer.from(event, 'hex')).toString('hex'),
  );
  const [a, b] = [leaves[0]!, leaves[1]!];
  t.equal(nodeHash(a, b).toString('hex'), sha256(Buffer.from([1]), a, b).toString('hex'));
});

t.test('for every tree size and leaf, the root matches RFC 6962 and the proof verifies', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 80 }), fc.nat(), (size, seed) => {
      const items = randomLeaves(size, seed);
      const root = merkleRoot(items);
      if (!root.equals(referenceRoot(items))) return false;
      for (let index = 0; index < size; index += 1) {
        const auditPath = inclusionProof(items, index);
        if (!verifyInclusion({ leaf: items[index]!, index, treeSize: size, auditPath, root })) return false;
      }
      return true;
    }),
    { numRuns: 60 },
  );
  t.pass('every proof of every leaf verifies');
});

t.test('an altered proof fails', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 64 }), fc.nat(), fc.nat(), fc.nat(), (size, seed, pick, which) => {
      const items = randomLeaves(size, seed);
      const root = merkleRoot(items);
      const index = pick % size;
      const auditPath = inclusionProof(items, index);
      const leaf = items[index]!;
      const flipped = auditPath.map((node, i) => {
        if (i !== which % auditPath.length) return node;
        const copy = Buffer.from(node);
        copy[0]! ^= 1;
        return copy;
      });
      const other = items[(index + 1) % size]!;
      return (
        !verifyInclusion({ leaf, index, treeSize: size, auditPath: flipped, root }) &&
        !verifyInclusion({ leaf: other, index, treeSize: size, auditPath, root }) &&
        !verifyInclusion({ leaf, index: (index + 1) % size, treeSize: size, auditPath, root }) &&
        !verifyInclusion({ leaf, index, treeSize: size, auditPath: auditPath.slice(1), root })
      );
    }),
    { numRuns: 200 },
  );
  t.notOk(verifyInclusion({ leaf: leaves[0]!, index: -1, treeSize: 1, auditPath: [], root: leaves[0]! }));
  t.notOk(
    verifyInclusion({ leaf: leaves[0]!, index: 0, treeSize: 1, auditPath: [leaves[1]!], root: leaves[0]! }),
  );
});
