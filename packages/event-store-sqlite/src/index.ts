export { SCHEMA_VERSION } from './schema.js';
export { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-event-store.js';
export type { CommitInfo, OnCommit } from './writers.js';
