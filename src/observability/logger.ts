import { pino, type Logger, type DestinationStream } from 'pino';

/**
 * Structured JSON logs. Credentials never reach them: known secret-bearing fields are redacted wherever they
 * appear, and request/response bodies are never passed to the logger.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  // pino's default synchronous writes: measured against sync: false (libuv thread pool writes), they gave the
  // better tail latency on 2 cores (test/bench/overhead.ts, info-logging run).
  return pino(
    {
      level,
      base: { service: 'tollgate' },
      redact: {
        paths: ['authorization', '*.authorization', 'headers.authorization', 'key', '*.key', 'api_key', '*.api_key', 'token', '*.token'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
