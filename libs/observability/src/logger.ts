import pino, { Logger, LevelWithSilent } from 'pino';
import { currentCorrelationId } from './correlation';

export type { Logger } from 'pino';

/**
 * Fields that may carry secrets anywhere in a log object. pino replaces them with "[redacted]", so a
 * careless `log.info({ token })` cannot leak a credential.
 */
const REDACTED_PATHS = [
  'authorization',
  'password',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'apiKey',
  'encryptionKey',
  'creds',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.access_token',
  '*.refresh_token',
  '*.apiKey',
  '*.creds',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
];

export interface LoggerOptions {
  app: string;
  instanceId?: string;
  level?: LevelWithSilent;
  /** Where to write; defaults to stdout. Tests pass a stream to assert on log lines. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: options.app, instance: options.instanceId ?? `${process.pid}` },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      mixin() {
        const correlationId = currentCorrelationId();
        return correlationId ? { correlationId } : {};
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
