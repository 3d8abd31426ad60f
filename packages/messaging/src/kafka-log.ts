import { type LogEntry, logLevel } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * Routes kafkajs's own log lines into the process's pino logger (one JSON log stream, with its redaction),
 * under `library: 'kafkajs'`. kafkajs errors while a broker is away are expected and retried, and the relay
 * logs each failed attempt itself, so they arrive as warnings, not errors.
 */
export function kafkaLogCreator(logger: Logger): (level: logLevel) => (entry: LogEntry) => void {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      const fields = { namespace, ...extra };
      // The relay bounds the idempotent producer's retries on purpose (delivery is at-least-once): not news.
      if (message.startsWith('Limiting retries for the idempotent producer'))
        return logger.debug(fields, message);
      if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(fields, message);
      else if (level === logLevel.INFO) logger.info(fields, message);
      else logger.debug(fields, message);
    };
}
