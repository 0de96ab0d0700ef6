import { sessionWorkerConfigSchema, parseEnv } from '@app/config';
import { type EventEnvelope, type EventType } from '@app/contracts';
import { CommandBus, MessagingConnection } from '@app/messaging';
import { createDataSource, runMigrations } from '@app/persistence';
import { eventually } from './eventually';
import { freePort } from './free-port';
import { startNatsServer, type NatsServerHandle } from './nats-server';
import { AppProcess } from './app-process';
import { createTestDatabase, type TestDatabase } from './postgres';
import { SandboxProcess } from '@app/wa-sandbox-client/sandbox.process';
import { builtPaths } from '@app/wa-sandbox-client/repo-paths';
import type { Subscription } from 'nats';
import { join } from 'node:path';
import pino from 'pino';
import type { DataSource } from 'typeorm';

/** Short timings so failover and fault tests finish in seconds; production defaults are longer. */
export const FAST_WORKER_ENV = {
  LEASE_TTL_MS: '3000',
  LEASE_RENEW_MS: '500',
  PLACEMENT_INTERVAL_MS: '300',
  CONNECT_RAMP_PER_SEC: '50',
  SHUTDOWN_HANDOFF_MS: '5000',
  WA_KEEPALIVE_MS: '2000',
  LOG_LEVEL: 'info',
};

/**
 * The worker's own defaults (what production runs unless told otherwise), read from its config schema
 * so they cannot drift: for benchmarks that must measure with real lease and placement timings.
 */
export function productionWorkerEnv(): Record<string, string> {
  const defaults = parseEnv(sessionWorkerConfigSchema, {});
  return {
    LEASE_TTL_MS: String(defaults.LEASE_TTL_MS),
    LEASE_RENEW_MS: String(defaults.LEASE_RENEW_MS),
    PLACEMENT_INTERVAL_MS: String(defaults.PLACEMENT_INTERVAL_MS),
    CONNECT_RAMP_PER_SEC: String(defaults.CONNECT_RAMP_PER_SEC),
    MAX_CONNECTS_IN_FLIGHT: String(defaults.MAX_CONNECTS_IN_FLIGHT),
    SHUTDOWN_HANDOFF_MS: String(defaults.SHUTDOWN_HANDOFF_MS),
    WA_KEEPALIVE_MS: String(defaults.WA_KEEPALIVE_MS),
    MAX_SESSIONS: String(defaults.MAX_SESSIONS),
    QR_MAX_REFS: String(defaults.QR_MAX_REFS),
    LOG_LEVEL: 'info',
  };
}

export interface WorkerClusterOptions {
  /** Environment every worker starts with (default `FAST_WORKER_ENV`); `startWorker`'s env goes on top. */
  workerEnv?: Record<string, string>;
  /** Prefix of the throwaway database's name; it must contain `test`. */
  databasePrefix?: string;
  /** A NATS server to use instead of starting one; the cluster owns it from then on (`stop()` stops it). */
  nats?: NatsServerHandle;
  /** A database to use instead of one on the machine's server; migrated here, dropped by `stop()`. */
  database?: TestDatabase;
  /** Where workers reach NATS and Postgres when not directly, e.g. through a fault-injecting proxy. */
  workerUrls?: { nats?: string; database?: string };
  /** Each worker's output is also appended to `<logDir>/<worker id>.log`. */
  logDir?: string;
}

/** Called for every event the cluster sees, with the local time it arrived. */
export type ClusterEventListener = (event: EventEnvelope, receivedAt: number) => void;

/** Who a scanned QR's session links as: the simulated phone that "scans" it. */
export interface ScanIdentity {
  phone: string;
  name?: string;
}

/** Counts of an `autoScan`, and the switch that ends it. */
export interface AutoScanHandle {
  /** Scans the sandbox accepted (each links a device). */
  readonly scanned: number;
  /** Scans the sandbox refused (a QR rotated or its socket closed first); the next QR is scanned instead. */
  readonly failed: number;
  readonly lastError: string | undefined;
  stop(): void;
}

/** One row of the api-visible session projection. */
export interface SessionRow {
  location_id: string;
  state: string;
  owner_worker_id: string | null;
  desired_state: string;
  state_epoch: string;
  qr: string | null;
}

/**
 * Everything an end-to-end session test needs, for real: a private nats-server, a throwaway database
 * with the migrations applied, the WhatsApp sandbox process, and built session-worker processes that
 * trust the sandbox's root key. The test talks to the workers only as the api would: over NATS.
 */
export class WorkerCluster {
  readonly workers = new Map<string, AppProcess>();
  readonly events: EventEnvelope[] = [];
  /** `session.disconnected` events with code 440 seen so far (kept apart: a soak trims `events`). */
  disconnects440 = 0;
  private readonly listeners = new Set<ClusterEventListener>();
  private workerEnv: Record<string, string> = FAST_WORKER_ENV;
  private workerUrls: { nats?: string; database?: string } = {};
  private logDir?: string;
  private sub?: Subscription;

  private constructor(
    readonly nats: NatsServerHandle,
    readonly db: TestDatabase,
    readonly dataSource: DataSource,
    readonly sandbox: SandboxProcess,
    readonly connection: MessagingConnection,
    readonly commands: CommandBus,
  ) {}

  static async start(
    sandboxEnv: NodeJS.ProcessEnv = {},
    options: WorkerClusterOptions = {},
  ): Promise<WorkerCluster> {
    const nats = options.nats ?? (await startNatsServer());
    const db = options.database ?? (await createTestDatabase(options.databasePrefix ?? 'test_worker_e2e'));
    await runMigrations(db.url, () => undefined);
    const dataSource = await createDataSource(db.url).initialize();
    const sandbox = await SandboxProcess.start({ env: { LOG_LEVEL: 'warn', ...sandboxEnv } });
    const logger = pino({ level: 'silent' });
    const connection = await MessagingConnection.connect({ servers: nats.url, name: 'e2e-test', logger });
    const cluster = new WorkerCluster(
      nats,
      db,
      dataSource,
      sandbox,
      connection,
      new CommandBus(connection, logger),
    );
    if (options.workerEnv) cluster.workerEnv = options.workerEnv;
    if (options.workerUrls) cluster.workerUrls = options.workerUrls;
    cluster.logDir = options.logDir;
    cluster.sub = connection.nc.subscribe('evt.>', {
      callback: (_err, msg) => {
        const receivedAt = Date.now();
        let event: EventEnvelope;
        try {
          event = JSON.parse(msg.string()) as EventEnvelope;
        } catch {
          return; // not JSON: the bad-input suites publish such messages (the consumers dead-letter them)
        }
        if (typeof event !== 'object' || event === null || typeof event.locationId !== 'string') return;
        cluster.events.push(event);
        if (event.type === 'session.disconnected' && (event.payload as { code?: unknown })?.code === 440)
          cluster.disconnects440++;
        for (const listener of cluster.listeners) listener(event, receivedAt);
      },
    });
    return cluster;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.stop('SIGKILL')));
    this.sub?.unsubscribe();
    await this.connection.drain();
    await this.sandbox.stop();
    await this.dataSource.destroy();
    await this.nats.stop();
    await this.db.drop();
  }

  async install(locationId: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO installations (location_id, install_type) VALUES ($1, 'Location') ON CONFLICT DO NOTHING`,
      [locationId],
    );
  }

  async startWorker(id: string, env: Record<string, string> = {}): Promise<AppProcess> {
    const port = await freePort();
    const worker = AppProcess.start({
      app: 'session-worker',
      nodeArgs: ['-r', builtPaths.trustPreload()],
      ...(this.logDir ? { logFile: join(this.logDir, `${id}.log`) } : {}),
      env: {
        ...this.workerEnv,
        NATS_URL: this.workerUrls.nats ?? this.nats.url,
        DATABASE_URL: this.workerUrls.database ?? this.db.url,
        HTTP_PORT: String(port),
        INSTANCE_ID: id,
        WA_WS_URL: this.sandbox.wsUrl,
        WA_SANDBOX_ROOT_PUBKEY: this.sandbox.rootPublicKey,
        NODE_ENV: 'test',
        ...env,
      },
    });
    this.workers.set(id, worker);
    await worker.waitForLog((l) => l.msg === 'session-worker ready');
    return worker;
  }

  /** The OS process id of a running worker, e.g. to read its /proc figures. */
  workerPid(id: string): number | undefined {
    return this.workers.get(id)?.pid;
  }

  /** Signals a worker, waits for its exit (SIGKILL after `timeoutMs`) and forgets it. */
  async stopWorker(id: string, signal: NodeJS.Signals = 'SIGTERM', timeoutMs?: number) {
    const worker = this.workers.get(id);
    if (!worker) throw new Error(`no worker ${id}`);
    try {
      return await worker.stop(signal, timeoutMs);
    } finally {
      this.workers.delete(id);
    }
  }

  /** Calls `listener` for every later event, as it arrives; returns the unsubscribe function. */
  onEvent(listener: ClusterEventListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * Scans every QR that appears for a location `identityOf` knows, as soon as it appears, like a user
   * holding the phone up to the screen. A QR that arrives while a scan of the same location is in flight
   * waits, and is scanned only if that scan fails. Use it to link many sessions; a session that should
   * never need a QR (already linked) must not be given an identity, or a rescan would go unnoticed.
   */
  autoScan(identityOf: (locationId: string) => ScanIdentity | undefined): AutoScanHandle {
    const inFlight = new Set<string>();
    const waiting = new Map<string, string>();
    let stopped = false;
    const counts = { scanned: 0, failed: 0, lastError: undefined as string | undefined };
    const scan = (locationId: string, qr: string, identity: ScanIdentity): void => {
      inFlight.add(locationId);
      this.sandbox.admin
        .scanQr({ qr, phone: identity.phone, name: identity.name ?? `Bench ${locationId}` })
        .then(
          () => {
            counts.scanned += 1;
            waiting.delete(locationId);
          },
          (error: unknown) => {
            counts.failed += 1;
            counts.lastError = error instanceof Error ? error.message : String(error);
          },
        )
        .finally(() => {
          inFlight.delete(locationId);
          const next = waiting.get(locationId);
          waiting.delete(locationId);
          if (next !== undefined && !stopped) scan(locationId, next, identity);
        });
    };
    const unsubscribe = this.onEvent((event) => {
      if (stopped || event.type !== 'session.qr') return;
      const identity = identityOf(event.locationId);
      if (!identity) return;
      const { qr } = event.payload;
      if (inFlight.has(event.locationId)) waiting.set(event.locationId, qr);
      else scan(event.locationId, qr, identity);
    });
    return {
      get scanned() {
        return counts.scanned;
      },
      get failed() {
        return counts.failed;
      },
      get lastError() {
        return counts.lastError;
      },
      stop: () => {
        stopped = true;
        unsubscribe();
      },
    };
  }

  eventsOf<T extends EventType>(locationId: string, type: T): EventEnvelope<T>[] {
    return this.events.filter((e) => e.locationId === locationId && e.type === type) as EventEnvelope<T>[];
  }

  async waitForEvent<T extends EventType>(
    locationId: string,
    type: T,
    match: (e: EventEnvelope<T>) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<EventEnvelope<T>> {
    return eventually(
      () => {
        const found = this.eventsOf(locationId, type).find(match);
        if (!found) throw new Error(`no ${type} event for ${locationId} yet`);
        return found;
      },
      { timeoutMs, intervalMs: 25 },
    );
  }

  async sessionRow(locationId: string) {
    const rows = await this.dataSource.query<
      {
        state: string;
        owner_worker_id: string | null;
        desired_state: string;
        state_epoch: string;
        qr: string | null;
      }[]
    >(`SELECT state, owner_worker_id, desired_state, state_epoch, qr FROM sessions WHERE location_id = $1`, [
      locationId,
    ]);
    return rows[0];
  }

  /** Every session's projection row, by location id, in one query. */
  async sessionRows(): Promise<Map<string, SessionRow>> {
    const rows = await this.dataSource.query<SessionRow[]>(
      `SELECT location_id, state, owner_worker_id, desired_state, state_epoch, qr FROM sessions`,
    );
    return new Map(rows.map((row) => [row.location_id, row]));
  }

  async waitForState(locationId: string, state: string, timeoutMs = 20_000) {
    return eventually(
      async () => {
        const row = await this.sessionRow(locationId);
        if (row?.state !== state)
          throw new Error(`session ${locationId} is ${row?.state}, waiting for ${state}`);
        return row;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  /** Starts a session, scans its first QR as `phone`, and waits until it is open and said so on the bus. */
  async link(locationId: string, phone: string, name = 'Alice'): Promise<void> {
    await this.install(locationId);
    const since = this.events.length;
    await this.commands.request('session.start', locationId, {});
    const qr = await eventually(
      () => {
        const found = this.events
          .slice(since)
          .find((e) => e.locationId === locationId && e.type === 'session.qr');
        if (!found || found.type !== 'session.qr') throw new Error('no QR yet');
        return found.payload.qr;
      },
      { timeoutMs: 20_000, intervalMs: 25 },
    );
    await this.sandbox.admin.scanQr({ qr, phone, name });
    await this.waitForState(locationId, 'open');
    // The projection is written before the event is published: wait for the event too, so a caller
    // counting `session.ready` events right after `link` sees this one.
    await eventually(
      () => {
        if (!this.events.slice(since).some((e) => e.locationId === locationId && e.type === 'session.ready'))
          throw new Error(`no session.ready for ${locationId} yet`);
      },
      { timeoutMs: 10_000, intervalMs: 25 },
    );
  }

  async doubleConnections(): Promise<number> {
    return (await this.sandbox.admin.stats()).doubleConnections;
  }
}
