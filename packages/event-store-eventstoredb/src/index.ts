export {
  fromEsdbCurrentRevision,
  fromEsdbError,
  fromStoredName,
  isAt,
  passes,
  type ReadAllPlan,
  readAllPlan,
  subscriptionStart,
  toEsdbExpectedRevision,
  toEsdbFilter,
  toPortEvent,
  toStoredName,
  validateEsdbEvents,
} from './esdb-mapping.js';
export {
  type EsdbClient,
  EventStoreDbEventStore,
  type EventStoreDbEventStoreOptions,
  isRetryableSubscriptionError,
  type ResubscribeOptions,
} from './eventstoredb-event-store.js';
