export { buildIngestApp, INGEST_API_VERSION, type IngestAppDeps } from './build-ingest-app.js';
export { derivedId, type IdPurpose, type IdSeed, newId } from './ids.js';
export { type IngestRoutesOptions, ingestRoutes } from './ingest.routes.js';
export { ClaimParams, WriteHeaders, WriteResult } from './ingest.schemas.js';
export { type RunningIngest, startIngest } from './start-ingest.js';
