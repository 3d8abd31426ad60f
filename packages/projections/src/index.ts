export {
  type ActorRows,
  type ActorView,
  actorRows,
  actorsProjection,
  actorView,
} from './actors.projection.js';
export {
  type ClaimContext,
  type ClaimEventRow,
  claimContextOf,
  claimEventRow,
  claimEventsProjection,
  type FoldRow,
  recordedFromRow,
  speakingParty,
} from './claim-events.projection.js';
export {
  type ClaimView,
  claimsProjection,
  evolveClaimView,
  partyOf,
  type RecordedFields,
} from './claims.projection.js';
export { CLAIM_STREAM_PREFIX, type DecodeResult, decodeClaimEvent, type ProjectedEvent } from './decode.js';
export { ProjectionError, type ProjectionErrorCode } from './errors.js';
export { instantMs } from './instants.js';
export {
  type ActorFilters,
  type ActorListItem,
  type AuditEvent,
  type AuditFilters,
  type ClaimFilters,
  type DisputeView,
  type EventFilter,
  LedgerQueries,
  type LedgerQueriesOptions,
  type ProgressSource,
} from './ledger-queries.js';
export type { Projection, ProjectionSession, ReadModelTx } from './projection.js';
export {
  DEFAULT_BATCH_SIZE,
  FORCED_REBUILD_BATCH_SIZE,
  LEASE_HEARTBEAT_MS,
  type ProjectedBatch,
  ProjectionRuntime,
  type ProjectionRuntimeOptions,
  projections,
  REBUILD_BATCH_SIZE,
  REBUILD_PENDING_ACTORS,
  type RebuildOptions,
  type RebuildProgress,
  type RebuildRequest,
  rebuild,
} from './projection-runtime.js';
export {
  CHECKPOINT_NAME,
  type ProjectorLease,
  ReadModels,
  type ReadModelsOptions,
  type StoredCheckpoint,
} from './read-models.js';
export { LEASE_TIMEOUT_MS, READ_MODEL_TABLES, READ_MODELS_SCHEMA_VERSION } from './schema.js';
