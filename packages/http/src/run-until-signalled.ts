import { ConfigError } from '@ledger/config';
import type { FastifyBaseLogger } from 'fastify';

/** A started service: its app (for the log) and how to close it cleanly. */
export interface StartedService {
  readonly app: { readonly log: FastifyBaseLogger };
  close(): Promise<void>;
}

/**
 * The body of every service's `main.ts`: start it, then on the first SIGTERM or SIGINT close it (drain
 * requests, stop work in flight, close stores) and exit 0, or 1 if closing failed. A start that fails exits 1
 * with one line on stderr (the variables named for a configuration error), no stack trace for an operator's
 * mistake.
 *
 * @example
 * ```ts
 * await runUntilSignalled('relay', () => runRelay(process.env));
 * ```
 */
export async function runUntilSignalled(name: string, start: () => Promise<StartedService>): Promise<void> {
  let service: StartedService;
  try {
    service = await start();
  } catch (error) {
    process.stderr.write(`${name}: ${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    service.app.log.info({ signal }, 'shutting down');
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        service.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
