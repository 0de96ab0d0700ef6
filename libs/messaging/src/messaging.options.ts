import type { Logger } from 'pino';
import { MessagingConnectionOptions } from './nats-connection';
import { StreamTopologyOptions } from './topology';

export interface MessagingModuleOptions {
  servers: string | string[];
  /** Connection name, e.g. `sync-<pod name>`. */
  name: string;
  /** Defaults to a pino logger named after the connection. */
  logger?: Logger;
  streams?: StreamTopologyOptions;
  /** Create/update the streams at boot. Default true; turn off where an operator owns the topology. */
  provisionStreams?: boolean;
  publishTimeoutMs?: number;
  commandTimeoutMs?: number;
  /** Bound on the graceful drain at shutdown. Default 10 s. */
  drainTimeoutMs?: number;
  connection?: Pick<
    MessagingConnectionOptions,
    'reconnectTimeWaitMs' | 'reconnectJitterMs' | 'jetStreamTimeoutMs' | 'auth'
  >;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');
export const MESSAGING_LOGGER = Symbol('MESSAGING_LOGGER');
