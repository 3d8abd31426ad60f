/**
 * `node services/ingest/dist/main.js`: the ingest service alone. Configuration from the environment
 * (DESIGN §7); SIGTERM/SIGINT drain in-flight requests, close the stores and exit 0.
 */
import { ConfigError } from '@ledger/config';
import { startIngest } from './start-ingest.js';

try {
  const ingest = await startIngest(process.env, process.stdout);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    ingest.app.log.info({ signal }, 'shutting down');
    ingest.close().then(
      () => process.exit(0),
      (error: unknown) => {
        ingest.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  process.stderr.write(`ingest: ${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
}
