export { buildQueryApp, type QueryAppDeps } from './build-query-app.js';
export { type QueryRoutesOptions, queryRoutes } from './query.routes.js';
