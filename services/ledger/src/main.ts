#!/usr/bin/env node
/**
 * `npm start`: the whole ledger in one process. Configuration comes from the environment (DESIGN §7);
 * SIGTERM or SIGINT drains requests and closes the store cleanly.
 */
import { createLogger, loadConfig } from '@ledger/config';
import { runUntilSignalled } from '@ledger/http';
import { startLedger } from './start-ledger.js';

await runUntilSignalled('ledger', async () => {
  const config = loadConfig(process.env);
  const logger = createLogger(config, 'ledger');
  const ledger = await startLedger(config, logger);
  if (ledger.generatedAdminKey !== undefined) {
    process.stdout.write(
      `\nGenerated the bootstrap admin key (shown once; kept in ${config.dataDir}/admin.key, mode 0600):\n\n  ${ledger.generatedAdminKey}\n\n`,
    );
  }
  logger.info({ url: ledger.url, dataDir: config.dataDir }, 'attribution ledger listening');
  return ledger;
});
