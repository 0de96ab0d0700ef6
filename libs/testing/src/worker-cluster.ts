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
 * Everything an end-to-end session test needs, for real: a private nats-server, a throwaway database
 * with the migrations applied, the WhatsApp sandbox process, and built session-worker processes that
 * trust the sandbox's root key. The test talks to the workers only as the api would: over NATS.
 */
export class WorkerCluster {
  readonly workers = new Map<string, AppProcess>();
  readonly events: EventEnvelope[] = [];
  private sub?: Subscription;

  private constructor(
    readonly nats: NatsServerHandle,
    readonly db: TestDatabase,
    readonly dataSource: DataSource,
    readonly sandbox: SandboxProcess,
    readonly connection: MessagingConnection,
    readonly commands: CommandBus,
  ) {}

  static async start(sandboxEnv: NodeJS.ProcessEnv = {}): Promise<WorkerCluster> {
    const nats = await startNatsServer();
    const db = await createTestDatabase('test_worker_e2e');
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
    cluster.sub = connection.nc.subscribe('evt.>', {
      callback: (_err, msg) => cluster.events.push(JSON.parse(msg.string()) as EventEnvelope),
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
      env: {
        ...FAST_WORKER_ENV,
        NATS_URL: this.nats.url,
        DATABASE_URL: this.db.url,
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

  /** Starts a session, scans its first QR as `phone`, and waits until it is open. */
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
  }

  async doubleConnections(): Promise<number> {
    return (await this.sandbox.admin.stats()).doubleConnections;
  }
}
