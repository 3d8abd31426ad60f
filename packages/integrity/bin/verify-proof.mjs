#!/usr/bin/env node
/**
 * Checks an Attribution Ledger inclusion proof offline, with nothing but Node.js and node:crypto.
 *
 *   node verify-proof.mjs proof.json public-key.pem     (or the JSON of GET /v1/integrity/key)
 *
 * proof.json is the body of GET /v1/integrity/proof/:position. Exit code 0: the event is in the signed tree;
 * 1: it is not (the first failing step is printed); 2: usage or unreadable input. The steps are those of
 * packages/integrity/README.md, "Checking a proof offline".
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** RFC 8785 canonical JSON (keys sorted by UTF-16 code units, ECMAScript number and string forms). */
function canonical(value) {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('non-finite number');
    if (typeof value === 'string' && !value.isWellFormed()) throw new Error('lone surrogate');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value)
    .filter((key) => value[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${canonical(key)}:${canonical(value[key])}`).join(',')}}`;
}

const sha256 = (...parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** RFC 9162 §2.1.3.2: the root an audit path leads to from leaf `index` of a tree of `size` leaves. */
function rootFromPath(leaf, index, size, path) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const hex of path) {
    const p = Buffer.from(hex, 'hex');
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = sha256(Buffer.from([1]), p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = sha256(Buffer.from([1]), r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

export function verifyProof(proof, publicKeyPem) {
  const { event, checkpoint } = proof;
  // 1. The event's own hash, recomputed from its content.
  const { integrity, ...metadata } = event.metadata ?? {};
  if (integrity === undefined) return { ok: false, step: 1, detail: 'the event has no metadata.integrity' };
  const input = {
    prev: integrity.prev,
    position: String(event.position),
    streamId: event.streamId,
    revision: String(event.revision),
    id: event.id,
    type: event.type,
    data: event.data,
    metadata,
    created: event.created,
  };
  const eventHash = sha256(Buffer.from(canonical(input), 'utf8')).toString('hex');
  if (eventHash !== integrity.hash || eventHash !== proof.eventHash) {
    return { ok: false, step: 1, detail: `the event hashes to ${eventHash}, not ${integrity.hash}` };
  }
  // 2. Its leaf, and the root its audit path leads to.
  const leaf = sha256(Buffer.from([0]), Buffer.from(eventHash, 'hex'));
  const root = rootFromPath(leaf, proof.leafIndex, checkpoint.treeSize, proof.auditPath);
  if (root === undefined || root.toString('hex') !== checkpoint.rootHash) {
    return { ok: false, step: 2, detail: 'the audit path does not lead to the checkpoint root' };
  }
  // 3. The checkpoint's Ed25519 signature.
  const payload = canonical({
    treeSize: checkpoint.treeSize,
    rootHash: checkpoint.rootHash,
    lastPosition: checkpoint.lastPosition,
    signedAt: checkpoint.signedAt,
  });
  let signed = false;
  try {
    signed = verify(
      null,
      Buffer.from(payload, 'utf8'),
      createPublicKey(publicKeyPem),
      Buffer.from(checkpoint.signature, 'base64'),
    );
  } catch {
    signed = false;
  }
  if (!signed)
    return { ok: false, step: 3, detail: 'the checkpoint signature does not verify with this key' };
  return {
    ok: true,
    detail: `event ${event.id} at position ${event.position} is leaf ${proof.leafIndex} of the tree of ${checkpoint.treeSize} events signed at ${checkpoint.signedAt}`,
  };
}

function readKey(text) {
  const trimmed = text.trim();
  return trimmed.startsWith('{') ? JSON.parse(trimmed).publicKeyPem : trimmed;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [proofFile, keyFile] = process.argv.slice(2);
  if (proofFile === undefined || keyFile === undefined) {
    process.stderr.write('usage: node verify-proof.mjs proof.json public-key.pem|key.json\n');
    process.exit(2);
  }
  let proof;
  let key;
  try {
    proof = JSON.parse(readFileSync(proofFile, 'utf8'));
    key = readKey(readFileSync(keyFile, 'utf8'));
  } catch (error) {
    process.stderr.write(`verify-proof: ${error.message}\n`);
    process.exit(2);
  }
  let result;
  try {
    result = verifyProof(proof, key);
  } catch (error) {
    result = { ok: false, step: 0, detail: `malformed proof: ${error.message}` };
  }
  process.stdout.write(`${result.ok ? 'valid' : `INVALID (step ${result.step})`}: ${result.detail}\n`);
  process.exit(result.ok ? 0 : 1);
}
