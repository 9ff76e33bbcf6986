import { pino, type Logger, type DestinationStream } from 'pino';

/**
 * Structured JSON logs. Credentials never reach them: known secret-bearing fields are redacted wherever they
 * appear, and request/response bodies are never passed to the logger.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  // Asynchronous writes: a slow log pipe must not stall request handling (flushed when Tollgate stops).
  return pino(
    {
      level,
      base: { service: 'tollgate' },
      redact: {
        paths: ['authorization', '*.authorization', 'headers.authorization', 'key', '*.key', 'api_key', '*.api_key', 'token', '*.token'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
