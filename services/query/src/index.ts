export { buildQueryApp, type QueryAppDeps } from './build-query-app.js';
export { readyOnceCaughtUp } from './catch-up-readiness.js';
export {
  Checkpoint,
  InclusionProof,
  IntegrityPublicKey,
  IntegrityReport,
  type IntegrityRoutesOptions,
  integrityRoutes,
  ProofParams,
} from './integrity.routes.js';
export { type QueryRoutesOptions, queryRoutes } from './query.routes.js';
export {
  SubscriptionHeaders,
  SubscriptionParams,
  SubscriptionQuery,
  type SubscriptionsRoutesOptions,
  subscriptionsRoutes,
  Topic,
} from './subscriptions.routes.js';
