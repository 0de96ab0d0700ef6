import {
  connect,
  ConnectionOptions,
  DebugEvents,
  Events,
  JetStreamClient,
  JetStreamManager,
  NatsConnection,
  Status,
} from 'nats';
import type { Logger } from 'pino';

export interface MessagingConnectionOptions {
  servers: string | string[];
  /** Shown in the server's connection list (`connz`); use `<app>-<pod>` so an operator can tell replicas apart. */
  name: string;
  logger: Logger;
  /** Pause between reconnect attempts. Default 1 s, plus jitter. */
  reconnectTimeWaitMs?: number;
  /** Random extra pause so that every replica does not hit a restarted server in the same instant. */
  reconnectJitterMs?: number;
  /** Timeout of JetStream API requests (stream/consumer info, ...). Default 5 s. */
  jetStreamTimeoutMs?: number;
  /** Credentials, when the server requires them. */
  auth?: { token?: string; user?: string; pass?: string };
}

export interface MessagingHealth {
  ok: boolean;
  detail: string;
}

type State =
  { kind: 'connected'; server: string } | { kind: 'disconnected'; since: Date } | { kind: 'closed' };

// Logged while the first connection is still pending, so a boot stuck on NATS says why.
const FIRST_CONNECT_NOTICE_MS = 10_000;
// A server that vanishes without closing the socket (node lost, network partition) is noticed after
// about PING_INTERVAL * MAX_PINGS_OUT instead of the client library's default of several minutes.
const PING_INTERVAL_MS = 20_000;
const MAX_PINGS_OUT = 3;
const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/**
 * The one NATS connection of a process. It never gives up reconnecting: the bus is required, and a
 * restarted server or a rolling NATS upgrade must heal by itself. Status changes are logged; message
 * bodies never are.
 */
export class MessagingConnection {
  readonly closed: Promise<Error | undefined>;
  private state: State;
  private jsmPromise: Promise<JetStreamManager> | undefined;
  private readonly jsClient: JetStreamClient;

  private constructor(
    readonly nc: NatsConnection,
    readonly name: string,
    private readonly logger: Logger,
    private readonly jetStreamTimeoutMs: number,
  ) {
    this.state = { kind: 'connected', server: nc.getServer() };
    this.jsClient = nc.jetstream({ timeout: jetStreamTimeoutMs });
    this.closed = nc.closed().then((err) => {
      this.state = { kind: 'closed' };
      if (err) this.logger.error({ err }, 'NATS connection closed with an error');
      else this.logger.info('NATS connection closed');
      return err ?? undefined;
    });
    void this.watchStatus();
  }

  static async connect(options: MessagingConnectionOptions): Promise<MessagingConnection> {
    const logger = options.logger.child({ component: 'nats', connection: options.name });
    const servers = Array.isArray(options.servers) ? options.servers : [options.servers];
    const connectionOptions: ConnectionOptions = {
      servers,
      name: options.name,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
      reconnectTimeWait: options.reconnectTimeWaitMs ?? 1_000,
      reconnectJitter: options.reconnectJitterMs ?? 500,
      pingInterval: PING_INTERVAL_MS,
      maxPingOut: MAX_PINGS_OUT,
      // The client otherwise captures a stack trace for every request (each JetStream publish and
      // ack) to decorate a timeout that almost never happens: measurable CPU at hundreds per second.
      noAsyncTraces: true,
      ...options.auth,
    };
    logger.info({ servers }, 'connecting to NATS (retrying until it answers)');
    const startedAt = Date.now();
    const notice = setInterval(() => {
      logger.warn(
        { servers, waitedMs: Date.now() - startedAt },
        'still waiting for NATS; the service cannot work until it connects',
      );
    }, FIRST_CONNECT_NOTICE_MS);
    notice.unref();
    let nc: NatsConnection;
    try {
      nc = await connect(connectionOptions);
    } catch (err) {
      logger.error({ err, servers }, 'could not connect to NATS');
      throw err;
    } finally {
      clearInterval(notice);
    }
    logger.info({ server: nc.getServer(), waitedMs: Date.now() - startedAt }, 'connected to NATS');
    return new MessagingConnection(nc, options.name, logger, options.jetStreamTimeoutMs ?? 5_000);
  }

  get js(): JetStreamClient {
    return this.jsClient;
  }

  /** The JetStream management API, created on first use without probing the server (it may be down). */
  jsm(): Promise<JetStreamManager> {
    this.jsmPromise ??= this.nc
      .jetstreamManager({ timeout: this.jetStreamTimeoutMs, checkAPI: false })
      .catch((err: unknown) => {
        this.jsmPromise = undefined;
        throw err;
      });
    return this.jsmPromise;
  }

  isConnected(): boolean {
    return this.state.kind === 'connected' && !this.nc.isClosed();
  }

  isClosed(): boolean {
    return this.state.kind === 'closed' || this.nc.isClosed();
  }

  health(): MessagingHealth {
    const state = this.nc.isClosed() ? ({ kind: 'closed' } as const) : this.state;
    switch (state.kind) {
      case 'connected':
        return { ok: true, detail: `connected to ${state.server}` };
      case 'disconnected': {
        const seconds = Math.round((Date.now() - state.since.getTime()) / 1000);
        return { ok: false, detail: `disconnected for ${seconds}s, reconnecting` };
      }
      case 'closed':
        return { ok: false, detail: 'connection closed' };
    }
  }

  /**
   * Graceful shutdown: lets subscriptions finish what they hold, flushes, and closes. Bounded, because
   * a drain during an outage would otherwise wait for a server that is not coming back.
   */
  async drain(timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<void> {
    if (this.nc.isClosed()) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      const drained = this.nc.drain().then(
        () => 'drained' as const,
        (err: unknown) => err,
      );
      const result = await Promise.race([drained, timedOut]);
      if (result === 'timeout') {
        this.logger.warn({ timeoutMs }, 'NATS drain timed out; closing the connection');
      } else if (result !== 'drained') {
        this.logger.warn({ err: result }, 'NATS drain failed; closing the connection');
      }
    } finally {
      clearTimeout(timer);
      if (!this.nc.isClosed()) await this.nc.close();
      await this.closed;
    }
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      this.onStatus(status);
    }
  }

  private onStatus(status: Status): void {
    const data = status.data;
    switch (status.type) {
      case Events.Disconnect:
        this.state = { kind: 'disconnected', since: new Date() };
        this.logger.warn({ server: data }, 'NATS disconnected; reconnecting');
        return;
      case Events.Reconnect:
        this.state = { kind: 'connected', server: this.nc.getServer() };
        this.logger.info({ server: data }, 'NATS reconnected');
        return;
      case Events.Error:
        this.logger.error({ err: data }, 'NATS connection error');
        return;
      case Events.LDM:
        this.logger.warn(
          { server: data },
          'NATS server entering lame duck mode; will move to another server',
        );
        return;
      case Events.Update:
        this.logger.info({ update: data }, 'NATS cluster membership changed');
        return;
      case DebugEvents.Reconnecting:
        this.logger.debug('NATS reconnect attempt');
        return;
      case DebugEvents.StaleConnection:
        this.logger.warn('NATS connection went stale (pings unanswered); reconnecting');
        return;
      case DebugEvents.ClientInitiatedReconnect:
        this.logger.info('NATS reconnect requested by the client');
        return;
      case DebugEvents.PingTimer:
        return;
      default:
        this.logger.debug({ status: status.type }, 'NATS status');
    }
  }
}
