import { STREAMS, MessagingConnection } from '@app/messaging';
import { createDataSource, runMigrations } from '@app/persistence';
import { eventually, freePort, startNatsServer, type NatsServerHandle } from '@app/testing';
import { AppProcess, waitForHttp } from '@app/testing/app-process';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import { WorkerCluster } from '@app/testing/worker-cluster';
import { GhlSandboxAdminClient, type ProviderDto } from '@app/ghl-sandbox-client';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { startGhlSandbox, type GhlSandbox } from '../../apps/ghl-sandbox/src';

export interface FuzzSystemOptions {
  /** Prefix of the throwaway database (must contain `test`). */
  databasePrefix: string;
  /** Also run the WhatsApp sandbox and one session worker (commands need an owner to answer them). */
  worker?: boolean;
}

/** One dead letter as stored in the DLQ stream. */
export interface StoredDeadLetter {
  seq: number;
  subject: string;
  headers: Record<string, string>;
  size: number;
}

type SecretName = 'ADMIN_API_KEY' | 'ENCRYPTION_KEY' | 'GHL_CLIENT_SECRET' | 'GHL_APP_SHARED_SECRET';

function freshSecrets(): Record<SecretName, string> {
  return {
    ADMIN_API_KEY: `fuzz-admin-${randomBytes(24).toString('hex')}`,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    GHL_CLIENT_SECRET: `fuzz-client-secret-${randomBytes(12).toString('hex')}`,
    GHL_APP_SHARED_SECRET: `fuzz-shared-secret-${randomBytes(12).toString('hex')}`,
  };
}

/**
 * What only the api writes (columns, by table): a refused request must leave it as it was. A running
 * worker renews leases, rewrites the projection and stores keys, so those columns are left out.
 */
const API_STATE: Record<string, string> = {
  installations: '*',
  oauth_tokens: '*',
  api_keys: '*',
  webhook_receipts: '*',
  sessions: 'location_id, desired_state',
};
/** What sync writes for the events it handles. */
const SYNC_STATE: Record<string, string> = {
  processed_messages: '*',
  message_mappings: '*',
  ghl_contacts: '*',
};
/** Everything stored about one location, by the column that names it. */
const LOCATION_STATE: Record<string, string> = {
  installations: 'location_id',
  oauth_tokens: 'resource_id',
  sessions: 'location_id',
  session_leases: 'location_id',
  auth_state: 'location_id',
  api_keys: 'location_id',
};

/**
 * The whole product for the bad-input suites, the way production runs it: the built api and sync (and
 * optionally a session worker) as processes, so a crash is an exit the test sees; a private
 * nats-server, a throwaway migrated database, the GHL sandbox in this process (the test signs webhooks
 * with its keys and reads every request it got) and, with a worker, the WhatsApp sandbox.
 *
 * Every secret is fresh per run, so a test can assert none of them ever appears in an answer or a log.
 */
export class FuzzSystem {
  readonly apps = new Map<string, AppProcess>();
  apiUrl = '';
  provider!: ProviderDto;

  private constructor(
    /** Fresh per run: none may ever appear in an answer or a log line. */
    readonly secrets: Readonly<Record<SecretName, string>>,
    readonly nats: NatsServerHandle,
    readonly db: TestDatabase,
    readonly dataSource: DataSource,
    readonly ghl: GhlSandbox,
    readonly ghlAdmin: GhlSandboxAdminClient,
    readonly connection: MessagingConnection,
    readonly cluster: WorkerCluster | undefined,
  ) {}

  static async start(options: FuzzSystemOptions): Promise<FuzzSystem> {
    const secrets = freshSecrets();
    const cluster = options.worker
      ? await WorkerCluster.start({}, { databasePrefix: options.databasePrefix })
      : undefined;
    const nats = cluster?.nats ?? (await startNatsServer());
    const db = cluster?.db ?? (await createTestDatabase(options.databasePrefix));
    if (!cluster) await runMigrations(db.url, () => undefined);
    const dataSource = cluster?.dataSource ?? (await createDataSource(db.url).initialize());
    const connection = await MessagingConnection.connect({
      servers: nats.url,
      name: 'fuzz-test',
      logger: pino({ level: 'silent' }),
    });
    const ghl = await startGhlSandbox({
      port: 0,
      logLevel: 'silent',
      clientSecret: secrets.GHL_CLIENT_SECRET,
      sharedSecret: secrets.GHL_APP_SHARED_SECRET,
      statusUpdateDelaySeconds: 0,
      rateLimit: { max: 100_000, intervalMs: 10_000 },
    });
    const ghlAdmin = new GhlSandboxAdminClient(ghl.url, ghl.config.adminToken);
    const system = new FuzzSystem(secrets, nats, db, dataSource, ghl, ghlAdmin, connection, cluster);
    try {
      await system.startApps();
    } catch (err) {
      await system.stop();
      throw err;
    }
    return system;
  }

  private async startApps(): Promise<void> {
    const [apiPort, syncPort] = [await freePort(), await freePort()];
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
    this.provider = await this.ghlAdmin.createProvider({
      deliveryUrl: `${this.apiUrl}/webhooks/ghl/provider`,
      name: 'WhatsApp (fuzz)',
    });
    const shared = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      NATS_URL: this.nats.url,
      DATABASE_URL: this.db.url,
      ENCRYPTION_KEY: this.secrets.ENCRYPTION_KEY,
      GHL_CLIENT_SECRET: this.secrets.GHL_CLIENT_SECRET,
    };
    this.startApp('sync', {
      ...shared,
      HTTP_PORT: String(syncPort),
      INSTANCE_ID: 'sync-fuzz',
      GHL_API_BASE_URL: this.ghl.url,
      GHL_CONVERSATION_PROVIDER_ID: this.provider.id,
      GHL_REQUEST_TIMEOUT: '3s',
      SYNC_MAX_DELIVER: '3',
      SYNC_ACK_WAIT: '10s',
    });
    this.startApp('api', {
      ...shared,
      HTTP_PORT: String(apiPort),
      INSTANCE_ID: 'api-fuzz',
      PUBLIC_BASE_URL: this.apiUrl,
      ADMIN_API_KEY: this.secrets.ADMIN_API_KEY,
      GHL_APP_SHARED_SECRET: this.secrets.GHL_APP_SHARED_SECRET,
      GHL_MARKETPLACE_URL: this.ghl.url,
      GHL_WEBHOOK_PUBLIC_KEY_ED25519: this.ghl.context.keys.ed25519PublicKeyPem,
      GHL_WEBHOOK_PUBLIC_KEY_RSA: this.ghl.context.keys.rsaPublicKeyPem,
      // The suites send thousands of requests from one address; the limiter has its own tests.
      API_RATE_LIMIT_PER_SECOND: '1000000',
      API_RATE_LIMIT_BURST: '1000000',
    });
    // Ready answers only after every module (sync's consumers too) has started: LOG_LEVEL=warn hides the
    // 'ready' lines, and keeps only what the leak check must see.
    await Promise.all([
      waitForHttp(`${this.apiUrl}/health/ready`, 200, 45_000),
      waitForHttp(`http://127.0.0.1:${syncPort}/health/ready`, 200, 45_000),
    ]);
    if (this.cluster) {
      // After the others: three Nest apps booting at once on two cores can outlast the worker's ready wait.
      const worker = await this.cluster.startWorker('worker-fuzz', {
        ENCRYPTION_KEY: this.secrets.ENCRYPTION_KEY,
      });
      this.apps.set('session-worker', worker);
    }
  }

  private startApp(app: string, env: Record<string, string>): void {
    this.apps.set(app, AppProcess.start({ app, env }));
  }

  /**
   * Installs a location the way GHL does: the sandbox approves it and mints a code, the api's OAuth
   * callback has sync exchange it. The location then has an installation row and sealed tokens.
   */
  async install(locationId: string, companyId?: string): Promise<void> {
    await this.ghlAdmin.createLocation({ id: locationId, name: `Fuzz ${locationId}`, companyId });
    const { code } = await this.ghlAdmin.issueCode({ userType: 'Location', locationId });
    const res = await fetch(`${this.apiUrl}/oauth/callback?code=${encodeURIComponent(code)}`);
    if (res.status !== 200) throw new Error(`installing ${locationId}: ${res.status} ${await res.text()}`);
  }

  /**
   * A stopped session with a stored WhatsApp link (credentials and a key), owned by nobody: what an
   * attack on another location could damage.
   */
  async storeStoppedLink(locationId: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO sessions (location_id, desired_state, state, phone, state_epoch)
       VALUES ($1, 'stopped', 'stopped', '+15550000888', 4)`,
      [locationId],
    );
    await this.dataSource.query(
      `INSERT INTO auth_state (location_id, category, key_id, value_enc, written_epoch)
       VALUES ($1, 'creds', '', '\\x00ff', 4), ($1, 'pre-key', '7', '\\x0102', 4)`,
      [locationId],
    );
  }

  /** A location API key minted through the api (admin), as an operator would. */
  async locationKey(locationId: string): Promise<string> {
    return (await this.createKey(locationId, 'fuzz')).key;
  }

  /** A key that existed and was revoked. */
  async revokedKey(locationId: string): Promise<string> {
    const { key, id } = await this.createKey(locationId, 'revoked');
    const revoked = await fetch(`${this.apiUrl}/api/keys/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${this.secrets.ADMIN_API_KEY}` },
    });
    if (revoked.status !== 200) throw new Error(`revoking: ${revoked.status}`);
    return key;
  }

  private async createKey(locationId: string, label: string): Promise<{ key: string; id: string }> {
    const res = await fetch(`${this.apiUrl}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.secrets.ADMIN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'location', locationId, label }),
    });
    if (res.status !== 201) throw new Error(`key for ${locationId}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { key: string; apiKey: { id: string } };
    return { key: body.key, id: body.apiKey.id };
  }

  async dashboardSession(locationId: string): Promise<string> {
    const res = await fetch(`${this.apiUrl}/api/dev/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ locationId }),
    });
    if (res.status !== 201) throw new Error(`dashboard session: ${res.status}`);
    return ((await res.json()) as { token: string }).token;
  }

  /** A digest of what the api (or sync) writes: equal digests mean nothing was written. */
  async fingerprint(scope: 'api' | 'sync'): Promise<string> {
    const tables = scope === 'api' ? API_STATE : SYNC_STATE;
    return this.digest(Object.entries(tables).map(([table, columns]) => ({ table, columns, where: '' })));
  }

  /** A digest of every row about one location, in every table: "another location is unaffected". */
  async locationFingerprint(locationId: string): Promise<string> {
    return this.digest(
      Object.entries(LOCATION_STATE).map(([table, column]) => ({
        table,
        columns: '*',
        where: `WHERE ${column} = $1`,
      })),
      [locationId],
    );
  }

  private async digest(parts: { table: string; columns: string; where: string }[], params: unknown[] = []) {
    const digests = await Promise.all(
      parts.map(async ({ table, columns, where }) => {
        const rows = await this.dataSource.query<{ digest: string | null; n: string }[]>(
          `SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) AS digest, count(*) AS n
             FROM (SELECT ${columns} FROM ${table} ${where}) x`,
          params,
        );
        return `${table}:${rows[0].n}:${rows[0].digest ?? '-'}`;
      }),
    );
    return digests.join(' ');
  }

  /** Every dead letter stored so far, oldest first. */
  async deadLetters(afterSeq = 0): Promise<StoredDeadLetter[]> {
    const jsm = await this.connection.jsm();
    const info = await jsm.streams.info(STREAMS.deadLetters);
    const letters: StoredDeadLetter[] = [];
    for (let seq = Math.max(afterSeq + 1, info.state.first_seq); seq <= info.state.last_seq; seq++) {
      const stored = await jsm.streams.getMessage(STREAMS.deadLetters, { seq });
      const headers: Record<string, string> = {};
      for (const [key, values] of stored.header ?? []) headers[key] = values[0] ?? '';
      letters.push({ seq, subject: stored.subject, headers, size: stored.data.length });
    }
    return letters;
  }

  /** Fails with the app's last output if any app has exited or stopped answering its readiness probe. */
  async assertHealthy(): Promise<void> {
    for (const [name, proc] of this.apps) {
      const exit = await Promise.race([proc.exited, Promise.resolve(undefined)]);
      if (exit) throw new Error(`${name} exited (${JSON.stringify(exit)}). Last output:\n${proc.tail(40)}`);
    }
    await eventually(
      async () => {
        const res = await fetch(`${this.apiUrl}/health/ready`);
        if (res.status !== 200) throw new Error(`api not ready: ${res.status} ${await res.text()}`);
      },
      { timeoutMs: 10_000 },
    );
  }

  /** Log lines (at warn and above: the apps run with LOG_LEVEL=warn) that carry a secret. */
  leakedSecretsInLogs(extra: string[] = []): string[] {
    const secrets = [...Object.values(this.secrets), ...extra];
    return [...this.apps.values()].flatMap((proc) =>
      proc.rawLines.filter((line) => secrets.some((secret) => line.includes(secret))),
    );
  }

  async stop(): Promise<void> {
    // The cluster stops its own worker.
    await Promise.all(
      [...this.apps.entries()]
        .filter(([name]) => name !== 'session-worker')
        .map(([, proc]) => proc.stop('SIGTERM')),
    );
    await this.connection.drain().catch(() => undefined);
    await this.ghl?.close();
    if (this.cluster) {
      await this.cluster.stop();
    } else {
      await this.dataSource.destroy();
      await this.nats.stop();
      await this.db.drop();
    }
  }
}
