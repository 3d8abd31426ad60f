export { type RunningLedger, startLedger } from './start-ledger.js';
