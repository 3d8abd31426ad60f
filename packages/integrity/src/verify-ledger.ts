/**
 * Recomputes the chain and the Merkle tree from the log itself, and checks signed checkpoints against them.
 */

import type { KeyObject } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { EventStore, RecordedEvent } from '@ledger/event-store';
import { type Checkpoint, verifyCheckpointSignature } from './checkpoint.js';
import { eventHash, GENESIS_HASH, splitIntegrity } from './event-hash.js';
import { leafHash, merkleRoot } from './merkle.js';

/** Why a log failed verification. */
export type VerifyFailure =
  /** The event has no (well-formed) `metadata.integrity`. */
  | 'missing-integrity'
  /** The event's content does not hash to its stored hash: it was altered (or moved to another position). */
  | 'hash-mismatch'
  /** The event's `prev` is not the hash of the event before it: an event before it is missing, moved or altered. */
  | 'chain-broken'
  /** The store could not read the event after the last good one (its stored JSON no longer parses). */
  | 'unreadable'
  /** The log holds fewer events than a signed checkpoint covers: events at its end were removed. */
  | 'truncated'
  /** The recomputed Merkle root differs from a signed checkpoint's: the chain was rewritten. */
  | 'checkpoint-mismatch'
  /** The latest checkpoint's signature does not verify with the ledger's key. */
  | 'checkpoint-signature';

/** The result of `verifyLedger`, as `GET /v1/integrity` and `ledger verify` report it. */
export interface VerifyReport {
  readonly ok: boolean;
  /** Events found intact and correctly chained, in `$all` order, before the first bad one (all of them when ok). */
  readonly checkedEvents: number;
  /** The position of the first event that fails; absent when ok, and when no one event can be blamed. */
  readonly firstBadPosition?: number;
  readonly reason?: VerifyFailure;
  /** A sentence for people. */
  readonly detail?: string;
  /** The checkpoint the log was checked against, if any. */
  readonly checkpoint?: Checkpoint;
}

/** A full pass over the log: the verdict on the chain, and the Merkle leaves of the intact prefix. */
export interface LogScan {
  readonly report: VerifyReport;
  /** Leaf nodes of the events that verified, in order. */
  readonly leaves: Buffer[];
  /** Their positions. */
  readonly positions: bigint[];
}

/** Checks one event against the hash of the event before it; returns its hash, or why it fails. */
export function checkEvent(
  event: RecordedEvent,
  prev: string,
): { ok: true; hash: string } | { ok: false; reason: VerifyFailure; detail: string } {
  const { integrity, rest } = splitIntegrity(event.metadata);
  if (integrity === undefined || rest === undefined) {
    return { ok: false, reason: 'missing-integrity', detail: 'the event carries no metadata.integrity' };
  }
  let hash: string;
  try {
    hash = eventHash({
      prev: integrity.prev,
      position: event.position.commit,
      streamId: event.streamId,
      revision: event.revision,
      id: event.id,
      type: event.type,
      data: event.data,
      metadata: rest,
      created: event.created.toISOString(),
    });
  } catch (error) {
    return {
      ok: false,
      reason: 'hash-mismatch',
      detail: `the event cannot be hashed: ${(error as Error).message}`,
    };
  }
  if (hash !== integrity.hash) {
    return {
      ok: false,
      reason: 'hash-mismatch',
      detail: `its content hashes to ${hash}, not to its stored hash ${integrity.hash}`,
    };
  }
  if (integrity.prev !== prev) {
    return {
      ok: false,
      reason: 'chain-broken',
      detail: `its prev is ${integrity.prev}, but the event before it hashes to ${prev}`,
    };
  }
  return { ok: true, hash };
}

/**
 * Events hashed between two turns of the event loop. An embedded store reads its pages synchronously, so a
 * scan that never gave way would hold every request of the process for its whole length (seconds for 100 000
 * events); one turn per 1 000 events (a few milliseconds) keeps them answered.
 */
const EVENTS_PER_TURN = 1_000;

/** Store errors that say the log cannot be read right now, not that it is damaged. */
const NOT_NOW =
  /^(SQLITE_(BUSY|LOCKED|IOERR|NOMEM|CANTOPEN|INTERRUPT)|event-store-closed$|store-unavailable$|store-busy$)/;

/**
 * Whether a failed read shows a damaged log rather than a store that cannot be read right now (locked,
 * closed, unreachable, an I/O error): only the first is a verdict on the log. Anything not known to be
 * transient counts as damage (stored JSON that no longer parses, a corrupt file, a row a tamperer left in a
 * shape the adapter chokes on): for a tamper check, "no verdict" on a damaged log would be the worse mistake.
 */
function isDamage(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return !(typeof code === 'string' && NOT_NOW.test(code));
}

/**
 * Walks `$all` from the start, recomputing every event's hash and link, and stops at the first bad event.
 * Gives way to the event loop every `EVENTS_PER_TURN` events. A read that fails because the store cannot be
 * read right now (see `isDamage`) is thrown, not reported as a bad log.
 *
 * @example
 * const { report, leaves } = await scanLog(store);
 */
export async function scanLog(store: EventStore): Promise<LogScan> {
  const leaves: Buffer[] = [];
  const positions: bigint[] = [];
  let prev = GENESIS_HASH;
  const fail = (position: bigint, reason: VerifyFailure, detail: string): LogScan => ({
    report: { ok: false, checkedEvents: leaves.length, firstBadPosition: Number(position), reason, detail },
    leaves,
    positions,
  });
  try {
    for await (const event of store.readAll()) {
      const checked = checkEvent(event, prev);
      if (!checked.ok) return fail(event.position.commit, checked.reason, checked.detail);
      leaves.push(leafHash(checked.hash));
      positions.push(event.position.commit);
      prev = checked.hash;
      if (leaves.length % EVENTS_PER_TURN === 0) await nextTurn();
    }
  } catch (error) {
    if (!isDamage(error)) throw error;
    // The store reads positions in order, so the one it failed on follows the last it returned. Stores with
    // contiguous positions (the SQLite adapter) make this the exact position.
    const after = positions.at(-1) ?? 0n;
    return fail(
      after + 1n,
      'unreadable',
      `the event after position ${after} cannot be read: ${(error as Error).message}`,
    );
  }
  return { report: { ok: true, checkedEvents: leaves.length }, leaves, positions };
}

/** Whether the log's prefix of `checkpoint.treeSize` events is the one the checkpoint signed. */
function matches(scan: LogScan, checkpoint: Checkpoint): boolean {
  if (checkpoint.treeSize > scan.leaves.length) return false;
  const last = checkpoint.treeSize === 0 ? 0n : scan.positions[checkpoint.treeSize - 1]!;
  return (
    Number(last) === checkpoint.lastPosition &&
    merkleRoot(scan.leaves, checkpoint.treeSize).toString('hex') === checkpoint.rootHash
  );
}

/**
 * Checks an intact chain against the signed checkpoints (oldest first): the latest must carry a valid signature
 * and its tree must be a prefix of the log. When it is not, earlier checkpoints narrow down where the log
 * changed: the first bad position is the first one after the last checkpoint that still matches.
 */
export function checkCheckpoints(
  scan: LogScan,
  checkpoints: readonly Checkpoint[],
  publicKey: KeyObject | string | undefined,
): VerifyReport {
  const latest = checkpoints.at(-1);
  if (!scan.report.ok || latest === undefined) return scan.report;
  const base = { checkedEvents: scan.leaves.length, checkpoint: latest };
  if (publicKey !== undefined && !verifyCheckpointSignature(latest, publicKey)) {
    return {
      ...base,
      ok: false,
      reason: 'checkpoint-signature',
      detail: `the signature of the checkpoint of ${latest.treeSize} events does not verify with the ledger's key`,
    };
  }
  if (matches(scan, latest)) return { ...base, ok: true };
  if (
    latest.treeSize > scan.leaves.length &&
    checkpoints.every((c) => c.treeSize > scan.leaves.length || matches(scan, c))
  ) {
    const after = scan.positions.at(-1) ?? 0n;
    return {
      ...base,
      ok: false,
      firstBadPosition: Number(after + 1n),
      reason: 'truncated',
      detail: `the checkpoint signed ${latest.treeSize} events up to position ${latest.lastPosition}; the log ends after ${scan.leaves.length} events, at position ${after}`,
    };
  }
  // Mismatches are monotone (a checkpoint over a changed prefix fails, and so do all later ones): bisect.
  let low = 0;
  let high = checkpoints.length - 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (matches(scan, checkpoints[middle]!)) low = middle + 1;
    else high = middle;
  }
  const goodSize = low === 0 ? 0 : checkpoints[low - 1]!.treeSize;
  const position = scan.positions[goodSize];
  return {
    ...base,
    ok: false,
    ...(position === undefined ? {} : { firstBadPosition: Number(position) }),
    reason: 'checkpoint-mismatch',
    detail: `the log no longer has the Merkle root signed for its first ${checkpoints[low]!.treeSize} events: it was rewritten after event ${goodSize}`,
  };
}

export interface VerifyLedgerOptions {
  /** Signed checkpoints, oldest first (`CheckpointLog.all()`); none: the chain alone is checked. */
  readonly checkpoints?: readonly Checkpoint[];
  /** The key the latest checkpoint must be signed with. */
  readonly publicKey?: KeyObject | string;
}

/**
 * Verifies the whole log: every event's hash and link, then the latest signed checkpoint.
 *
 * @example
 * const report = await verifyLedger(store, { checkpoints: new CheckpointLog(dataDir).all(), publicKey });
 * if (!report.ok) console.error(`tampered at position ${report.firstBadPosition}: ${report.detail}`);
 */
export async function verifyLedger(
  store: EventStore,
  options: VerifyLedgerOptions = {},
): Promise<VerifyReport> {
  return checkCheckpoints(await scanLog(store), options.checkpoints ?? [], options.publicKey);
}
