/**
 * `node services/projector/dist/main.js`: the projector alone. Configuration from the environment (DESIGN §7);
 * SIGTERM/SIGINT stop the runtime after its batch in flight, close the stores and exit 0.
 */
import { ConfigError } from '@ledger/config';
import { runProjector } from './run-projector.js';

try {
  const running = await runProjector(process.env);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    running.app.log.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        running.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  process.stderr.write(`projector: ${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
}
