import { type DestinationStream, type Logger, pino } from 'pino';
import type { LedgerConfig } from './load-config.js';

/** What pino replaces redacted values with. */
export const REDACTED = '[redacted]';

/**
 * Paths pino redacts in every log line: authorization headers (as fastify's request serialiser and raw
 * header objects carry them) and any field holding a key or secret, at the top level or one level down.
 */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'request.headers.authorization',
  'headers.authorization',
  'authorization',
  'key',
  'adminKey',
  'secret',
  'token',
  '*.key',
  '*.adminKey',
  '*.secret',
  '*.token',
  '*.authorization',
];

/**
 * The root pino logger of a process: `base: { service }`, the configured level, and redaction of
 * authorization headers and keys. Components take child loggers from it.
 *
 * @param destination where lines go (stdout when omitted); tests pass an in-memory stream.
 * @example
 * ```ts
 * const log = createLogger(config, 'ingest');
 * log.child({ component: 'claims' }).info({ claimId }, 'claim appended');
 * ```
 */
export function createLogger(
  config: Pick<LedgerConfig, 'logLevel'>,
  service: string,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.logLevel,
    base: { service },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
