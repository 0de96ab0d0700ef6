import { hostname } from 'node:os';
import { DEV_SECRETS } from './dev-defaults';
import { duration, encryptionKey, instanceId, natsUrls, oneOf, port, postgresUrl } from './env-parsers';
import { envVar, secretVar, type EnvVarSchema } from './env-var';

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

/** pino's levels, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Unique per process even when two replicas share a host (pod name + pid). Characters a NATS subject
 * token cannot hold are replaced, so a dotted hostname still yields a valid id.
 */
function defaultInstanceId(): string {
  return `${hostname()}-${process.pid}`
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
}

/** The variables every app reads. `defineEnvSchema` adds them to each app's schema. */
export const sharedEnvShape = {
  NODE_ENV: envVar(oneOf(NODE_ENVS), 'development'),
  LOG_LEVEL: envVar(oneOf(LOG_LEVELS), 'info'),
  /** One server or a cluster's seed list; parsed into an array. */
  NATS_URL: envVar(natsUrls, 'nats://127.0.0.1:4222'),
  DATABASE_URL: envVar(postgresUrl, 'postgres://postgres@127.0.0.1:5432/wa_bridge'),
  /** This process's identity in leases, worker rows and logs. */
  INSTANCE_ID: envVar(instanceId, defaultInstanceId),
  /** Base64 of the 32-byte AES-256-GCM key for auth state and OAuth tokens at rest. */
  ENCRYPTION_KEY: secretVar(encryptionKey, DEV_SECRETS.ENCRYPTION_KEY),
  /** How long the event streams keep messages, in milliseconds (given as `7d`, `12h`, ...). */
  EVENTS_MAX_AGE: envVar(duration, '7d'),
  /** How long dead-lettered messages are kept, in milliseconds; longer than events so they can be inspected. */
  DLQ_MAX_AGE: envVar(duration, '30d'),
};

export type SharedEnvShape = typeof sharedEnvShape;

/** HTTP_PORT is shared, its default is not: each app has its own so all three run on one machine. */
export function httpPortVar(defaultPort: number): EnvVarSchema<number> {
  return envVar(port, String(defaultPort));
}
