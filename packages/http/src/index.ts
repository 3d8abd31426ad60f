export { type AdminKeysRoutesOptions, adminKeysRoutes } from './admin-keys.routes.js';
export {
  type AuthPluginOptions,
  assertScope,
  assertSpeaksAs,
  authPlugin,
  principalOf,
  requireScope,
} from './auth.plugin.js';
export { canonicalJson, requestHash } from './canonical-json.js';
export {
  type CreateHttpAppOptions,
  createHttpApp,
  DEFAULT_BODY_LIMIT,
  type HttpApp,
  logOnCompletion,
  MAX_PARAM_LENGTH,
} from './create-http-app.js';
export {
  EventStoreIdempotency,
  type EventStoreIdempotencyOptions,
  evolveIdempotencyRecord,
  IDEMPOTENCY_STREAM_PREFIX,
  type IdempotencyRecordState,
  type IdempotencyRecords,
  idempotencyStream,
} from './event-store-idempotency.js';
export {
  API_KEY_INDEX_STREAM,
  API_KEY_STREAM_PREFIX,
  type ApiKeyRecord,
  EventStoreKeys,
  type EventStoreKeysOptions,
  evolveApiKey,
} from './event-store-keys.js';
export { type HealthRoutesOptions, healthRoutes } from './health.routes.js';
export {
  FieldError,
  HttpProblem,
  type HttpProblemOptions,
  isHttpProblem,
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPE_BASE,
  ProblemDetails,
  problemBody,
} from './http-problem.js';
export {
  type BeginInput,
  type BeginResult,
  DEFAULT_IDEMPOTENCY_TTL_MS,
  type IdempotencyScope,
  IdempotencyStore,
  type Ownership,
  STALE_IN_FLIGHT_MS,
  type StoredResponse,
} from './idempotency-store.js';
export {
  ADMIN_KEY_FILE,
  ADMIN_KEY_ID,
  type ApiKeys,
  type BootstrapAdmin,
  type CreatedKey,
  CreateKeyInput,
  type KeyInfo,
  KeyStore,
  MIN_ADMIN_KEY_LENGTH,
} from './key-store.js';
export {
  type BatchObservation,
  type CommitObservation,
  LedgerMetrics,
  type LedgerMetricsOptions,
  METRICS_PREFIX,
  type ProjectorSource,
  RELAY_STATES,
  type RelaySource,
  UNMATCHED_ROUTE,
} from './metrics.js';
export { type MetricsPluginOptions, metricsPlugin } from './metrics.plugin.js';
export { type OpenApiOptions, registerOpenApi } from './openapi.js';
export {
  MAX_FIELD_ERRORS,
  problemErrorHandler,
  problemNotFoundHandler,
  sendProblem,
  toHttpProblem,
} from './problem-json.js';
export {
  DEFAULT_RATE_LIMIT_WINDOW_MS,
  type RateLimitPluginOptions,
  rateLimitPlugin,
} from './rate-limit.plugin.js';
export { NoQuery } from './request-schemas.js';
export { runUntilSignalled, type StartedService } from './run-until-signalled.js';
export { hasScope, type Principal, Scope } from './scopes.js';
export { STATE_SCHEMA_VERSION, StateStore, type StateStoreOptions } from './state-store.js';
