export { checkExpectedRevision, matchesFilter, NO_STREAM, toJson, validateAppend } from './append-rules.js';
export { CommitNotifier, catchUpSubscription, type ReadPageAfter } from './catch-up-subscription.js';
export {
  type Decider,
  type HandleCommandOptions,
  type HandleCommandResult,
  handleCommand,
} from './command-handler.js';
export {
  DuplicateEventIdError,
  EventStoreClosedError,
  EventStoreError,
  InvalidAppendError,
  isStreamNotFoundError,
  isWrongExpectedVersionError,
  StoreBusyError,
  StoreUnavailableError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from './errors.js';
export { uuidV7 } from './event-id.js';
export type {
  AllFilter,
  AppendOptions,
  AppendResult,
  Direction,
  EventData,
  EventStore,
  ExpectedRevision,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamRevision,
  SubscribeToAllOptions,
  Subscription,
} from './event-store.port.js';
export { InMemoryEventStore } from './in-memory-event-store.js';
export { lastPosition } from './last-position.js';
export { readyBatches } from './ready-batches.js';
export { StreamQueue } from './stream-queue.js';
