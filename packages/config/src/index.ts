export { ConfigError, type ConfigIssue } from './config-error.js';
export { parseDuration } from './duration.js';
export { type KafkaSettings, type LedgerConfig, LogLevel, loadConfig } from './load-config.js';
export { createLogger, REDACT_PATHS, REDACTED } from './logger.js';
export {
  EventStoreUnavailableError,
  type OpenEventStoreOptions,
  openEventStore,
} from './open-event-store.js';
