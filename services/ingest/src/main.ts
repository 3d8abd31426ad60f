/**
 * `node services/ingest/dist/main.js`: the ingest service alone. Configuration from the environment
 * (DESIGN §7); SIGTERM/SIGINT drain in-flight requests, close the stores and exit 0.
 */
import { runUntilSignalled } from '@ledger/http';
import { startIngest } from './start-ingest.js';

await runUntilSignalled('ingest', () => startIngest(process.env, process.stdout));
