/**
 * A Merkle tree over the log, as in RFC 6962 / RFC 9162 (Certificate Transparency): the leaves are the events'
 * hashes in `$all` order, leaf nodes are `SHA-256(0x00 || eventHash)`, inner nodes `SHA-256(0x01 || left ||
 * right)`, and a tree of n leaves splits at the largest power of two below n. Proofs are RFC 9162 audit paths.
 */
import { createHash } from 'node:crypto';

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** The leaf node of an event: `SHA-256(0x00 || eventHashBytes)`. */
export function leafHash(eventHashHex: string): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(Buffer.from(eventHashHex, 'hex')).digest();
}

/** An inner node: `SHA-256(0x01 || left || right)`. */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The root of the tree over `leaves[0..size)` (leaf nodes, as `leafHash` makes them). The empty tree's root is
 * `SHA-256("")`.
 *
 * @example
 * merkleRoot(hashes.map(leafHash)).toString('hex');
 */
export function merkleRoot(leaves: readonly Buffer[], size = leaves.length): Buffer {
  if (size > leaves.length || size < 0) throw new RangeError(`tree size ${size} out of range`);
  if (size === 0) return createHash('sha256').digest();
  return subtreeRoot(leaves, 0, size);
}

function subtreeRoot(leaves: readonly Buffer[], start: number, end: number): Buffer {
  // Bottom-up over levels is the same tree as RFC 6962's recursive split: odd nodes are carried up, not paired.
  let level = leaves.slice(start, end) as Buffer[];
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/**
 * The audit path of leaf `index` in the tree of the first `size` leaves (RFC 6962 §2.1.1 PATH), bottom-up.
 *
 * @example
 * const path = inclusionProof(leaves, 3, leaves.length);
 * verifyInclusion({ leaf: leaves[3]!, index: 3, treeSize: leaves.length, auditPath: path, root });
 */
export function inclusionProof(leaves: readonly Buffer[], index: number, size = leaves.length): Buffer[] {
  if (size > leaves.length || index < 0 || index >= size) {
    throw new RangeError(`leaf ${index} is not in a tree of size ${size}`);
  }
  const path: Buffer[] = [];
  let start = 0;
  let end = size;
  let m = index;
  const stack: Buffer[] = [];
  // Descend from the root, collecting the sibling subtree roots top-down; the path is bottom-up.
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < k) {
      stack.push(subtreeRoot(leaves, start + k, end));
      end = start + k;
    } else {
      stack.push(subtreeRoot(leaves, start, start + k));
      start += k;
      m -= k;
    }
  }
  while (stack.length > 0) path.push(stack.pop()!);
  return path;
}

/** What an inclusion proof claims: leaf `leaf` is at `index` in the tree of `treeSize` leaves with root `root`. */
export interface InclusionClaim {
  readonly leaf: Buffer;
  readonly index: number;
  readonly treeSize: number;
  readonly auditPath: readonly Buffer[];
  readonly root: Buffer;
}

/**
 * Checks an audit path (RFC 9162 §2.1.3.2): recomputes the root from the leaf and the path and compares it.
 *
 * @example
 * verifyInclusion({ leaf: leafHash(eventHash), index, treeSize, auditPath, root }); // true or false
 */
export function verifyInclusion(claim: InclusionClaim): boolean {
  const { index, treeSize } = claim;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) {
    return false;
  }
  let fn = index;
  let sn = treeSize - 1;
  let r = claim.leaf;
  for (const p of claim.auditPath) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(claim.root);
}
