#!/usr/bin/env node
/**
 * `npm start`: the whole ledger in one process. Configuration comes from the environment (DESIGN §7);
 * SIGTERM or SIGINT drains requests and closes the store cleanly.
 */
import { ConfigError, createLogger, loadConfig } from '@ledger/config';
import { startLedger } from './start-ledger.js';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
const logger = createLogger(config, 'ledger');
let ledger: Awaited<ReturnType<typeof startLedger>>;
try {
  ledger = await startLedger(config, logger);
} catch (error) {
  // Configuration refused, or the port taken: one clear line, exit 1, no stack trace for an operator's mistake.
  process.stderr.write(`cannot start the ledger: ${(error as Error).message}\n`);
  process.exit(1);
}
if (ledger.generatedAdminKey !== undefined) {
  process.stdout.write(
    `\nGenerated the bootstrap admin key (shown once; kept in ${config.dataDir}/admin.key, mode 0600):\n\n  ${ledger.generatedAdminKey}\n\n`,
  );
}
logger.info({ url: ledger.url, dataDir: config.dataDir }, 'attribution ledger listening');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    ledger
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  });
}
