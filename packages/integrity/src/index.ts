export {
  CHECKPOINTS_FILE,
  type Checkpoint,
  CheckpointLog,
  checkpointPayload,
  INTEGRITY_KEY_FILE,
  IntegrityKey,
  type PublicKeyInfo,
  verifyCheckpointSignature,
} from './checkpoint.js';
export {
  type CanonicalContent,
  canonicalContent,
  canonicalContentOf,
  canonicalJson,
  eventHash,
  eventHashOfContent,
  GENESIS_HASH,
  type HashedEvent,
  hashInput,
  INTEGRITY_KEY,
  type IntegrityFields,
  sha256Hex,
  splitIntegrity,
} from './event-hash.js';
export {
  type InclusionProofBody,
  IntegrityError,
  LedgerIntegrity,
  type LedgerIntegrityOptions,
} from './ledger-integrity.js';
export {
  type InclusionClaim,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  verifyInclusion,
} from './merkle.js';
export {
  checkCheckpoints,
  checkEvent,
  type LogScan,
  scanLog,
  type VerifyFailure,
  type VerifyLedgerOptions,
  type VerifyReport,
  verifyLedger,
} from './verify-ledger.js';
