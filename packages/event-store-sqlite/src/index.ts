export { SCHEMA_VERSION } from './schema.js';
export { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store.js';
