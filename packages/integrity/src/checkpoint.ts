/**
 * Signed checkpoints: Ed25519 signatures over the Merkle root of the log's first `treeSize` events. The key pair
 * lives in the data dir (`integrity.key`, PKCS #8 PEM, mode 0600, made on first start); checkpoints are appended,
 * one JSON object a line, to `integrity-checkpoints.jsonl` beside it.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { appendFileSync, closeSync, fstatSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createFileExclusively } from '@ledger/exclusive-file';
import { canonicalJson } from './event-hash.js';

/** The private key's file in the data dir. */
export const INTEGRITY_KEY_FILE = 'integrity.key';
/** The checkpoint log's file in the data dir. */
export const CHECKPOINTS_FILE = 'integrity-checkpoints.jsonl';

/** A signed statement: "the log's first `treeSize` events, up to `lastPosition`, have Merkle root `rootHash`". */
export interface Checkpoint {
  readonly treeSize: number;
  /** Lower-case hex. */
  readonly rootHash: string;
  /** The position of the last event in the tree (0 for the empty tree). */
  readonly lastPosition: number;
  /** ISO 8601 UTC. */
  readonly signedAt: string;
  /** Ed25519 over the UTF-8 bytes of `checkpointPayload(checkpoint)`, base64. */
  readonly signature: string;
}

/** The public half, as served at `GET /v1/integrity/key`. */
export interface PublicKeyInfo {
  readonly algorithm: 'Ed25519';
  /** SPKI PEM, for `crypto.createPublicKey`, `openssl pkey -pubin`. */
  readonly publicKeyPem: string;
  /** The raw 32-byte key, base64. */
  readonly publicKeyBase64: string;
  /** First 16 hex digits of the SHA-256 of the raw key: names the key in reports. */
  readonly keyId: string;
}

/** What is signed: RFC 8785 canonical JSON of the checkpoint without its `signature`. */
export function checkpointPayload(checkpoint: Omit<Checkpoint, 'signature'>): string {
  return canonicalJson({
    treeSize: checkpoint.treeSize,
    rootHash: checkpoint.rootHash,
    lastPosition: checkpoint.lastPosition,
    signedAt: checkpoint.signedAt,
  });
}

/** The ledger's signing key. */
export class IntegrityKey {
  readonly #privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly info: PublicKeyInfo;

  private constructor(publicKey: KeyObject, privateKey: KeyObject) {
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    this.info = {
      algorithm: 'Ed25519',
      publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      publicKeyBase64: raw.toString('base64'),
      keyId: createHash('sha256').update(raw).digest('hex').slice(0, 16),
    };
  }

  /**
   * Reads `<dataDir>/integrity.key`, or generates an Ed25519 key pair into it (mode 0600) on first start. The
   * file appears whole or not at all (`createFileExclusively`), so processes starting together on one data
   * dir end up with the same key, and none reads a half-written one.
   *
   * @example
   * const key = IntegrityKey.loadOrCreate('./data');
   */
  static loadOrCreate(dataDir: string): IntegrityKey {
    const existing = IntegrityKey.load(dataDir);
    if (existing !== undefined) return existing;
    const path = join(dataDir, INTEGRITY_KEY_FILE);
    // An empty file (an older build that crashed between creating and writing it) holds no key: replace it.
    rmSync(path, { force: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
    createFileExclusively(path, pem, { mode: 0o600 });
    return IntegrityKey.load(dataDir)!;
  }

  /**
   * Reads `<dataDir>/integrity.key`; undefined when there is none (a ledger that never served integrity) or
   * it is empty (a crash of an older build while creating it: no checkpoint was ever signed with it).
   */
  static load(dataDir: string): IntegrityKey | undefined {
    let pem: string;
    try {
      pem = readFileSync(join(dataDir, INTEGRITY_KEY_FILE), 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
      throw error;
    }
    if (pem.trim() === '') return undefined;
    const privateKey = createPrivateKey(pem);
    return new IntegrityKey(createPublicKey(privateKey), privateKey);
  }

  /** Signs a checkpoint. */
  sign(unsigned: Omit<Checkpoint, 'signature'>): Checkpoint {
    const signature = sign(null, Buffer.from(checkpointPayload(unsigned), 'utf8'), this.#privateKey);
    return { ...unsigned, signature: signature.toString('base64') };
  }

  /** Whether `checkpoint` carries a valid signature of this key. */
  verify(checkpoint: Checkpoint): boolean {
    return verifyCheckpointSignature(checkpoint, this.publicKey);
  }
}

/**
 * Checks a checkpoint's Ed25519 signature with a public key (a `KeyObject` or SPKI PEM).
 *
 * @example
 * verifyCheckpointSignature(checkpoint, publicKeyPem); // true or false
 */
export function verifyCheckpointSignature(checkpoint: Checkpoint, publicKey: KeyObject | string): boolean {
  try {
    const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
    return verify(
      null,
      Buffer.from(checkpointPayload(checkpoint), 'utf8'),
      key,
      Buffer.from(checkpoint.signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/**
 * The checkpoint log: `<dataDir>/integrity-checkpoints.jsonl`, one signed checkpoint a line, oldest first.
 * Appends are single `write`s of one short line with `O_APPEND`, so processes sharing a data dir do not
 * interleave them.
 */
export class CheckpointLog {
  readonly #path: string;

  constructor(dataDir: string) {
    this.#path = join(dataDir, CHECKPOINTS_FILE);
  }

  /** Every checkpoint, oldest first; lines that do not parse are skipped (a torn last write). */
  all(): Checkpoint[] {
    let text: string;
    try {
      text = readFileSync(this.#path, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return [];
      throw error;
    }
    const checkpoints: Checkpoint[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        checkpoints.push(JSON.parse(line) as Checkpoint);
      } catch {
        // A line cut short by a crash mid-write: the next checkpoint supersedes it.
      }
    }
    return checkpoints;
  }

  /** The most recent checkpoint, if any. */
  latest(): Checkpoint | undefined {
    return this.all().at(-1);
  }

  append(checkpoint: Checkpoint): void {
    const line = `${JSON.stringify(checkpoint)}\n`;
    // After a torn last line (a crash mid-write), a line glued onto it would be skipped with it.
    appendFileSync(this.#path, this.#endsTorn() ? `\n${line}` : line, { mode: 0o644 });
  }

  /** Whether the file's last line lacks its newline. */
  #endsTorn(): boolean {
    let fd: number;
    try {
      fd = openSync(this.#path, 'r');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return false;
      throw error;
    }
    try {
      const { size } = fstatSync(fd);
      if (size === 0) return false;
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      return last[0] !== 0x0a;
    } finally {
      closeSync(fd);
    }
  }
}
