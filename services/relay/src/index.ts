export { type RelayProcess, runRelay } from './run-relay.js';
export { type RelayDeps, type RunningRelay, startRelay } from './start-relay.js';
