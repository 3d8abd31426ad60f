export type { ActorFold, ActorFoldStep, ClaimTally, StateTally } from './actor-fold.js';
export { actorSummaryOf, evolveActorFold } from './actor-fold.js';
export type { ClaimSnapshot, ClaimState } from './claim-decider.js';
export { claimDecider, decide, evolve, initialState } from './claim-decider.js';
export {
  ActorInput,
  ClaimCommand,
  ClaimInput,
  ConfirmationInput,
  ConfirmClaim,
  DenialInput,
  DenyClaim,
  MakeClaim,
  RetractClaim,
  RetractionInput,
} from './commands.js';
export type { DomainErrorCode, DomainRuleCode, ErrorDetails, NotFoundCode } from './errors.js';
export { DomainRuleError, isLedgerError, LedgerError, NotFoundError } from './errors.js';
export type { ClaimEventOf, StoredEventShape } from './events.js';
export {
  Actor,
  ClaimConfirmed,
  ClaimDenied,
  ClaimEvent,
  ClaimEventType,
  ClaimMade,
  ClaimRetracted,
  CURRENT_SCHEMA_VERSION,
  EventMetadata,
  StoredClaimEvent,
  upcastClaimEvent,
} from './events.js';
export type {
  ActorSummary,
  AttributionSummary,
  ClaimFacts,
  DisputeEntry,
  FoldedClaim,
  RecordedClaimEvent,
  RecordedMetadata,
} from './status-rules.js';
export {
  AttributionStatus,
  Cutoff,
  claimFactsOf,
  disputeEntries,
  foldClaims,
  statusOf,
  summarizeActor,
} from './status-rules.js';
export {
  ActorId,
  ActorName,
  Attribution,
  actorIdOf,
  ClaimId,
  compareInstants,
  DateTime,
  HttpUrl,
  ISO_3166_ALPHA2,
  LONG_TEXT_MAX,
  LongText,
  mixesLookAlikeScripts,
  OfficialParty,
  OfficialPartyKind,
  Party,
  PartyId,
  PartyKind,
  Relation,
  SHORT_TEXT_MAX,
  ShortText,
  Source,
  Spokesperson,
  StateCode,
} from './values.js';
