#!/usr/bin/env node
/**
 * `node services/relay/dist/main.js`: the Kafka relay alone. Configuration from the environment (DESIGN §7,
 * `KAFKA_BROKERS` required); SIGTERM/SIGINT stop it after the request in flight and exit 0.
 */
import { ConfigError } from '@ledger/config';
import { runRelay } from './run-relay.js';

try {
  const running = await runRelay(process.env);
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
  process.stderr.write(`relay: ${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
}
