import type { EventStore } from '@ledger/event-store';
import { type Checkpoint, CheckpointLog, IntegrityKey, type PublicKeyInfo } from './checkpoint.js';
import { inclusionProof, merkleRoot } from './merkle.js';
import { checkCheckpoints, scanLog, type VerifyReport } from './verify-ledger.js';

/** The ledger failed verification, so no checkpoint is signed and no proof is issued. */
export class IntegrityError extends Error {
  readonly code = 'integrity-failure';
  readonly report: VerifyReport;

  constructor(report: VerifyReport) {
    super(
      `the ledger failed verification${report.firstBadPosition === undefined ? '' : ` at position ${report.firstBadPosition}`}: ${report.detail ?? report.reason}`,
    );
    this.name = 'IntegrityError';
    this.report = report;
  }
}

/** An inclusion proof as `GET /v1/integrity/proof/:position` serves it: everything a verifier needs but the key. */
export interface InclusionProofBody {
  readonly position: number;
  /** The event's 0-based index among the leaves (its place in `$all`). */
  readonly leafIndex: number;
  readonly treeSize: number;
  /** `metadata.integrity.hash` of the event. */
  readonly eventHash: string;
  /** `SHA-256(0x00 || eventHash)`, hex. */
  readonly leafHash: string;
  /** Sibling hashes from the leaf up, hex. */
  readonly auditPath: readonly string[];
  readonly rootHash: string;
  /** The signed checkpoint whose tree the proof is in. */
  readonly checkpoint: Checkpoint;
  /** The event as stored, so that its hash can be recomputed. */
  readonly event: {
    readonly position: number;
    readonly streamId: string;
    readonly revision: number;
    readonly id: string;
    readonly type: string;
    readonly data: unknown;
    readonly metadata: unknown;
    readonly created: string;
  };
}

export interface LedgerIntegrityOptions {
  readonly store: EventStore;
  /** Holds `integrity.key` and `integrity-checkpoints.jsonl`. */
  readonly dataDir: string;
  readonly clock?: () => Date;
}

/**
 * The ledger's integrity service: verifies the log, signs checkpoints of it, and issues inclusion proofs. Every
 * call recomputes from the log (one pass over `$all`), so an answer never rests on a cached hash.
 *
 * @example
 * const integrity = LedgerIntegrity.open({ store, dataDir: './data' });
 * const { report, checkpoint } = await integrity.checkpoint();
 * const proof = await integrity.proof(42n);
 */
export class LedgerIntegrity {
  readonly #store: EventStore;
  readonly #key: IntegrityKey;
  readonly #log: CheckpointLog;
  readonly #clock: () => Date;

  private constructor(options: LedgerIntegrityOptions, key: IntegrityKey) {
    this.#store = options.store;
    this.#key = key;
    this.#log = new CheckpointLog(options.dataDir);
    this.#clock = options.clock ?? (() => new Date());
  }

  /** Loads the signing key from the data dir, generating it on first start. */
  static open(options: LedgerIntegrityOptions): LedgerIntegrity {
    return new LedgerIntegrity(options, IntegrityKey.loadOrCreate(options.dataDir));
  }

  /** The public key checkpoints are signed with. */
  get publicKey(): PublicKeyInfo {
    return this.#key.info;
  }

  /** Verifies the chain and the latest checkpoint; signs nothing. */
  async verify(): Promise<VerifyReport> {
    // Checkpoints first, then the log: one signed meanwhile (by another process) could cover events the scan
    // did not reach and read as a truncation. The log only grows, so these are all within what the scan sees.
    const checkpoints = this.#log.all();
    return checkCheckpoints(await scanLog(this.#store), checkpoints, this.#key.publicKey);
  }

  /**
   * Verifies, then, when the log is intact and has grown past the latest checkpoint (or has none), signs and
   * keeps a checkpoint of it. Returns the report and the latest checkpoint.
   */
  async checkpoint(): Promise<{ report: VerifyReport; checkpoint: Checkpoint | undefined }> {
    const checkpoints = this.#log.all();
    const scan = await scanLog(this.#store);
    const report = checkCheckpoints(scan, checkpoints, this.#key.publicKey);
    const latest = report.checkpoint ?? checkpoints.at(-1);
    if (!report.ok || (latest !== undefined && latest.treeSize === scan.leaves.length)) {
      return { report, checkpoint: latest };
    }
    // Scans give way to the event loop: another request may have signed this size meanwhile.
    const signedMeanwhile = this.#log.latest();
    if (signedMeanwhile !== undefined && signedMeanwhile.treeSize >= scan.leaves.length) {
      return { report, checkpoint: signedMeanwhile };
    }
    const checkpoint = this.#sign(scan.leaves, scan.positions);
    return { report: { ...report, checkpoint }, checkpoint };
  }

  #sign(leaves: readonly Buffer[], positions: readonly bigint[]): Checkpoint {
    const checkpoint = this.#key.sign({
      treeSize: leaves.length,
      rootHash: merkleRoot(leaves).toString('hex'),
      lastPosition: Number(positions.at(-1) ?? 0n),
      signedAt: this.#clock().toISOString(),
    });
    this.#log.append(checkpoint);
    return checkpoint;
  }

  /**
   * An inclusion proof of the event at `position` in the latest signed checkpoint that covers it (signing a
   * new one when none does). Undefined when no event has that position. Throws `IntegrityError` when the log
   * fails verification.
   */
  async proof(position: bigint): Promise<InclusionProofBody | undefined> {
    const checkpoints = this.#log.all();
    const scan = await scanLog(this.#store);
    const report = checkCheckpoints(scan, checkpoints, this.#key.publicKey);
    if (!report.ok) throw new IntegrityError(report);
    const index = binarySearch(scan.positions, position);
    if (index < 0) return undefined;
    const latest = checkpoints.at(-1);
    const checkpoint =
      latest !== undefined && latest.treeSize > index ? latest : this.#sign(scan.leaves, scan.positions);
    let event: InclusionProofBody['event'] | undefined;
    for await (const recorded of this.#store.readAll({
      fromPosition: { commit: position, prepare: position },
      maxCount: 1,
    })) {
      if (recorded.position.commit !== position) break;
      event = {
        position: Number(recorded.position.commit),
        streamId: recorded.streamId,
        revision: Number(recorded.revision),
        id: recorded.id,
        type: recorded.type,
        data: recorded.data,
        metadata: recorded.metadata,
        created: recorded.created.toISOString(),
      };
    }
    // The scan just read this position, and events are never deleted by the ledger itself.
    if (event === undefined) throw new Error(`the event at position ${position} vanished while proving it`);
    const leaf = scan.leaves[index]!;
    const metadata = event.metadata as { integrity?: { hash?: string } } | undefined;
    return {
      position: Number(position),
      leafIndex: index,
      treeSize: checkpoint.treeSize,
      eventHash: metadata?.integrity?.hash ?? '',
      leafHash: leaf.toString('hex'),
      auditPath: inclusionProof(scan.leaves, index, checkpoint.treeSize).map((node) => node.toString('hex')),
      rootHash: checkpoint.rootHash,
      checkpoint,
      event,
    };
  }
}

function binarySearch(sorted: readonly bigint[], wanted: bigint): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const value = sorted[middle]!;
    if (value === wanted) return middle;
    if (value < wanted) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}
