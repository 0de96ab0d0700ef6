import { GhlSandboxAdminClient, type FaultInput } from '@app/ghl-sandbox-client';
import type { FaultKind } from '@app/wa-sandbox-client';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppProcess, waitForHttp } from '../app-process';
import { eventually } from '../eventually';
import { freePort } from '../free-port';
import { startNatsServer } from '../nats-server';
import { createTestDatabase } from '../postgres';
import { PrivatePostgres, type PostgresStopMode } from '../private-postgres';
import { TcpProxy } from '../tcp-proxy';
import { WorkerCluster } from '../worker-cluster';
import { checkDeliveries, violations, type SentMessage, type SystemCheck } from './checker';
import { Workload, type Chat, type SentRecord, type WorkloadOptions } from './workload';

/**
 * Worker timings for fault runs: short enough that a dead owner's sessions move within seconds, with
 * the order the zombie test relies on: keep-alive (1.5 s) < the sandbox's idle drop (4 s) < lease TTL
 * (6 s), so a frozen worker's sockets are gone before anyone may take its sessions over.
 */
export const RELIABILITY_WORKER_ENV: Record<string, string> = {
  LEASE_TTL_MS: '6000',
  LEASE_RENEW_MS: '1000',
  PLACEMENT_INTERVAL_MS: '500',
  CONNECT_RAMP_PER_SEC: '20',
  SHUTDOWN_HANDOFF_MS: '5000',
  WA_KEEPALIVE_MS: '1500',
  LOG_LEVEL: 'info',
};
export const RELIABILITY_SANDBOX_IDLE_TIMEOUT_MS = 4_000;

/** Sync timings for fault runs: an unanswered GHL call is reconciled, and a dead sync's events redelivered, within seconds. */
export const RELIABILITY_SYNC_ENV: Record<string, string> = {
  GHL_REQUEST_TIMEOUT: '3s',
  SYNC_ACK_WAIT: '10s',
  GHL_STATUS_RETRY_DELAY: '500ms',
  LOG_LEVEL: 'info',
};

export interface SystemHarnessOptions {
  workers?: number;
  syncs?: number;
  /** A Postgres cluster of the harness's own, so it can be restarted; otherwise a database on the machine's server. */
  privatePostgres?: boolean;
  /** Fault proxies in front of NATS, Postgres and the GHL sandbox (every app goes through them). */
  proxies?: boolean;
  /** On top of `RELIABILITY_WORKER_ENV`. */
  workerEnv?: Record<string, string>;
  /** On top of `RELIABILITY_SYNC_ENV`. */
  syncEnv?: Record<string, string>;
  apiEnv?: Record<string, string>;
  waSandboxEnv?: NodeJS.ProcessEnv;
  ghlSandboxEnv?: Record<string, string>;
  /** Every process's output is also written to `<logDir>/<name>.log`. */
  logDir?: string;
}

/** A location and the WhatsApp number it links. */
export interface SessionSpec {
  locationId: string;
  phone: string;
}

export interface FaultRecord {
  at: number;
  fault: string;
  detail?: string;
}

/** One process of the system, e.g. for memory sampling. */
export interface SystemProcess {
  name: string;
  pid: number;
  /** Part of the product (not a sandbox or infrastructure). */
  product: boolean;
}

export interface RunCheck extends SystemCheck {
  /** QR codes shown for a session that was linked (its credentials were lost). */
  unexpectedQrs: { locationId: string; at: number }[];
  /**
   * WhatsApp → GHL messages written after a later one of their conversation (GHL still shows them in
   * order, by date; reported for information).
   */
  arrivalInversions: number;
  /** 440 closes the workers reported on the bus, and 440s the harness injected. */
  closes440: { seen: number; injected: number };
  /** GHL → WhatsApp messages GHL shows as failed (the system reported it could not send them). */
  failedInGhl: string[];
  /** Calls to the entry points (the sandboxes' admin APIs) that failed: those messages are not counted, or excused. */
  entryErrors: { key: string; message: string }[];
}

/** Every target a run missed, in plain words (the checkers' findings plus the harness's own). */
export function runViolations(check: RunCheck, options: { order?: boolean } = {}): string[] {
  const found = violations(check, options);
  if (check.unexpectedQrs.length)
    found.push(`${check.unexpectedQrs.length} QR codes shown for linked sessions (credentials lost)`);
  if (check.entryErrors.length)
    found.push(
      `${check.entryErrors.length} messages could not be put in (e.g. ${check.entryErrors[0].message})`,
    );
  return found;
}

/**
 * The whole system for fault and soak runs, every app a built process: a private NATS server, Postgres
 * (the machine's, or a private restartable cluster), both sandboxes, the api, several session workers
 * and several syncs, optionally behind fault proxies. It installs locations through the product's own
 * OAuth flow, links numbers by scanning QR codes, injects faults, and checks what came out.
 */
export class SystemHarness {
  readonly syncs = new Map<string, AppProcess>();
  readonly faults: FaultRecord[] = [];
  readonly sessions: SessionSpec[] = [];
  /** Locations whose number a fault logged out, with when. */
  readonly loggedOutAt = new Map<string, number>();
  readonly unexpectedQrs: { locationId: string; at: number }[] = [];
  private readonly expectingQr = new Map<string, string>();
  private readonly generation = new Map<string, number>();
  private injected440 = 0;
  private stopAutoScan?: () => void;
  private stopWatching?: () => void;
  private stopping?: Promise<void>;

  private constructor(
    readonly cluster: WorkerCluster,
    readonly pg: PrivatePostgres | null,
    readonly proxies: { nats: TcpProxy; postgres: TcpProxy; ghl: TcpProxy } | null,
    readonly ghlSandbox: AppProcess,
    readonly ghlUrl: string,
    readonly ghl: GhlSandboxAdminClient,
    readonly providerId: string,
    readonly api: AppProcess,
    readonly apiUrl: string,
    private readonly urls: { nats: string; database: string; ghl: string },
    private readonly options: SystemHarnessOptions,
  ) {}

  static async start(options: SystemHarnessOptions = {}): Promise<SystemHarness> {
    if (options.logDir) mkdirSync(options.logDir, { recursive: true });
    const logFile = (name: string) => (options.logDir ? join(options.logDir, `${name}.log`) : undefined);
    // Undone in reverse if the start fails half-way.
    const undo: (() => Promise<unknown>)[] = [];
    let clusterOwnsInfrastructure = false;
    try {
      const pg = options.privatePostgres ? await PrivatePostgres.start() : null;
      if (pg) undo.push(() => pg.stop());
      const db = pg
        ? await pg.createDatabase('reliability_test')
        : await createTestDatabase('reliability_test');
      undo.push(async () => clusterOwnsInfrastructure || (await db.drop()));
      const nats = await startNatsServer();
      undo.push(async () => clusterOwnsInfrastructure || (await nats.stop()));
      const dbPort = Number(new URL(db.url).port || 5432);
      const [ghlPort, apiPort] = [await freePort(), await freePort()];
      const ghlUrl = `http://127.0.0.1:${ghlPort}`;
      const apiUrl = `http://127.0.0.1:${apiPort}`;
      const proxies = options.proxies
        ? {
            nats: await TcpProxy.start({ name: 'nats', target: { host: '127.0.0.1', port: nats.port } }),
            postgres: await TcpProxy.start({ name: 'postgres', target: { host: '127.0.0.1', port: dbPort } }),
            ghl: await TcpProxy.start({ name: 'ghl', target: { host: '127.0.0.1', port: ghlPort } }),
          }
        : null;
      if (proxies) undo.push(...Object.values(proxies).map((p) => () => p.close()));
      const via = (url: string, proxy: TcpProxy | undefined) => {
        if (!proxy) return url;
        const parsed = new URL(url);
        parsed.port = String(proxy.port);
        return parsed.toString().replace(/\/$/, '');
      };
      const urls = {
        nats: proxies ? `nats://127.0.0.1:${proxies.nats.port}` : nats.url,
        database: via(db.url, proxies?.postgres),
        ghl: via(ghlUrl, proxies?.ghl),
      };

      const ghlSandbox = AppProcess.start({
        app: 'ghl-sandbox',
        logFile: logFile('ghl-sandbox'),
        env: {
          PORT: String(ghlPort),
          LOG_LEVEL: 'warn',
          WEBHOOK_URL: `${apiUrl}/webhooks/ghl`,
          PROVIDER_DELIVERY_URL: `${apiUrl}/webhooks/ghl/provider`,
          AUTO_APPROVE: 'true',
          // GHL retries a webhook only on 429 (what the api answers while the bus is down); the sandbox
          // compresses GHL's ~10 minutes between tries, and is given enough of them to outlast an outage.
          WEBHOOK_RETRY_DELAY_MS: '2000',
          WEBHOOK_MAX_RETRIES: '30',
          ...options.ghlSandboxEnv,
        },
      });
      undo.push(() => ghlSandbox.stop());
      await waitForHttp(`${ghlUrl}/health/ready`, 200, 60_000);
      const ghl = new GhlSandboxAdminClient(ghlUrl);
      const keys = await ghl.keys();
      const provider = await ghl.createProvider({
        name: 'WhatsApp',
        deliveryUrl: `${apiUrl}/webhooks/ghl/provider`,
      });

      const cluster = await WorkerCluster.start(
        {
          LOG_LEVEL: 'warn',
          WA_SANDBOX_CLIENT_IDLE_TIMEOUT_MS: String(RELIABILITY_SANDBOX_IDLE_TIMEOUT_MS),
          ...options.waSandboxEnv,
        },
        {
          nats,
          database: db,
          workerEnv: { ...RELIABILITY_WORKER_ENV, ...options.workerEnv },
          workerUrls: { nats: urls.nats, database: urls.database },
          logDir: options.logDir,
        },
      );
      // From here the cluster owns NATS and the database: its stop() stops and drops them.
      clusterOwnsInfrastructure = true;
      undo.push(() => cluster.stop());

      const api = AppProcess.start({
        app: 'api',
        logFile: logFile('api'),
        env: {
          NODE_ENV: 'test',
          LOG_LEVEL: 'info',
          INSTANCE_ID: 'api-1',
          HTTP_PORT: String(apiPort),
          NATS_URL: urls.nats,
          DATABASE_URL: urls.database,
          PUBLIC_BASE_URL: apiUrl,
          GHL_MARKETPLACE_URL: ghlUrl,
          GHL_WEBHOOK_PUBLIC_KEY_ED25519: keys.ed25519PublicKeyPem,
          GHL_WEBHOOK_PUBLIC_KEY_RSA: keys.rsaPublicKeyPem,
          ...options.apiEnv,
        },
      });
      undo.push(() => api.stop());
      const harness = new SystemHarness(
        cluster,
        pg,
        proxies,
        ghlSandbox,
        ghlUrl,
        ghl,
        provider.id,
        api,
        apiUrl,
        urls,
        options,
      );
      await Promise.all([
        api.waitForLog((l) => l.msg === 'api ready', 60_000),
        ...Array.from({ length: options.workers ?? 2 }, (_, i) => harness.startWorker(`worker-${i + 1}`)),
        ...Array.from({ length: options.syncs ?? 2 }, (_, i) => harness.startSync(`sync-${i + 1}`)),
      ]);
      harness.watch();
      return harness;
    } catch (error) {
      for (const step of undo.reverse()) await step().catch(() => undefined);
      throw error;
    }
  }

  /** Stops everything the harness started. Idempotent (an interrupt may race the normal end). */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    this.stopAutoScan?.();
    this.stopWatching?.();
    await Promise.all([...this.syncs.values()].map((s) => s.stop('SIGKILL')));
    await this.api.stop('SIGKILL');
    await this.cluster.stop();
    await this.ghlSandbox.stop();
    if (this.proxies) await Promise.all(Object.values(this.proxies).map((p) => p.close()));
    await this.pg?.stop();
  }

  get wa() {
    return this.cluster.sandbox.admin;
  }

  // ------------------------------------------------------------ processes

  /** Starts (or restarts, under a new instance id) the worker called `name`. */
  async startWorker(name: string, env: Record<string, string> = {}): Promise<AppProcess> {
    const generation = (this.generation.get(name) ?? 0) + 1;
    this.generation.set(name, generation);
    return this.cluster.startWorker(name, { INSTANCE_ID: this.instanceId(name), ...env });
  }

  async startSync(name: string, env: Record<string, string> = {}): Promise<AppProcess> {
    const generation = (this.generation.get(name) ?? 0) + 1;
    this.generation.set(name, generation);
    const port = await freePort();
    const sync = AppProcess.start({
      app: 'sync',
      ...(this.options.logDir ? { logFile: join(this.options.logDir, `${name}.log`) } : {}),
      env: {
        NODE_ENV: 'test',
        INSTANCE_ID: this.instanceId(name),
        HTTP_PORT: String(port),
        NATS_URL: this.urls.nats,
        DATABASE_URL: this.urls.database,
        GHL_API_BASE_URL: this.urls.ghl,
        GHL_CONVERSATION_PROVIDER_ID: this.providerId,
        ...RELIABILITY_SYNC_ENV,
        ...this.options.syncEnv,
        ...env,
      },
    });
    this.syncs.set(name, sync);
    await sync.waitForLog((l) => l.msg === 'sync consumers started', 60_000);
    return sync;
  }

  /** The instance id the process called `name` runs under now (a restart gets a new one, like a new pod). */
  instanceId(name: string): string {
    const generation = this.generation.get(name) ?? 1;
    return generation === 1 ? name : `${name}-r${generation - 1}`;
  }

  /** Every process of the system that runs now. */
  processes(): SystemProcess[] {
    const list: SystemProcess[] = [];
    const add = (name: string, pid: number | undefined, product: boolean) => {
      if (pid !== undefined) list.push({ name, pid, product });
    };
    for (const [name, worker] of this.cluster.workers) add(name, worker.pid, true);
    for (const [name, sync] of this.syncs) add(name, sync.pid, true);
    add('api', this.api.pid, true);
    add('wa-sandbox', this.cluster.sandbox.pid, false);
    add('ghl-sandbox', this.ghlSandbox.pid, false);
    add('nats-server', this.cluster.nats.pid, false);
    return list;
  }

  // ------------------------------------------------------------ locations and numbers

  /** Installs the app for each location the way GHL does: consent, then our OAuth callback (sync exchanges the code). */
  async install(locationIds: readonly string[]): Promise<void> {
    for (const locationId of locationIds) {
      await this.ghl.createLocation({ id: locationId, name: `Reliability ${locationId}` });
      const { code } = await this.ghl.issueCode(
        { userType: 'Location', locationId },
        `${this.apiUrl}/oauth/callback`,
      );
      const res = await fetch(`${this.apiUrl}/oauth/callback?code=${encodeURIComponent(code)}`);
      if (!res.ok) {
        const title = /<h1>([^<]*)<\/h1>/.exec(await res.text())?.[1] ?? '';
        throw new Error(`installing ${locationId} failed: ${res.status} ${title}`);
      }
    }
  }

  /** Installs the locations, starts their sessions and scans each QR, until every one is open. */
  async link(sessions: readonly SessionSpec[], timeoutMs = 120_000): Promise<void> {
    await this.install(sessions.map((s) => s.locationId));
    this.sessions.push(...sessions);
    await Promise.all(sessions.map((s) => this.startAndScan(s)));
    await this.waitForOpen(
      sessions.map((s) => s.locationId),
      timeoutMs,
    );
  }

  /** Waits until each location's session is open in the projection (optionally not on `notOwner`). */
  async waitForOpen(locationIds: readonly string[], timeoutMs: number, notOwner?: string): Promise<number> {
    const started = Date.now();
    await eventually(
      async () => {
        const rows = await this.cluster.sessionRows();
        const waiting = locationIds.filter((id) => {
          const row = rows.get(id);
          return row?.state !== 'open' || (notOwner !== undefined && row.owner_worker_id === notOwner);
        });
        if (waiting.length)
          throw new Error(
            `${waiting.length} sessions not open yet: ${waiting
              .slice(0, 5)
              .map((id) => `${id}=${rows.get(id)?.state ?? 'none'}`)
              .join(', ')}`,
          );
      },
      { timeoutMs, intervalMs: 100 },
    );
    return Date.now() - started;
  }

  /** Locations whose lease the instance holds now. */
  async ownedBy(instanceId: string): Promise<string[]> {
    const rows = await this.cluster.dataSource.query<{ location_id: string }[]>(
      `SELECT location_id FROM session_leases WHERE owner_id = $1 AND expires_at > now()`,
      [instanceId],
    );
    return rows.map((r) => r.location_id);
  }

  /** `count` locations, each with its own number: `<prefix>0001` … and 1555… numbers. */
  static sessionSpecs(count: number, prefix = 'relLoc'): SessionSpec[] {
    return Array.from({ length: count }, (_, i) => ({
      locationId: `${prefix}${String(i + 1).padStart(4, '0')}`,
      phone: `1555${String(i + 1).padStart(7, '0')}`,
    }));
  }

  /**
   * A workload over the linked numbers (`contactsPerSession` contacts each), warmed up: every chat
   * has sent one message and it reached GHL, so every contact and conversation exists (GHL users can
   * reply, and a measured message is one GHL call, as in a running deployment). Not started.
   */
  async warmWorkload(
    contactsPerSession: number,
    options: Omit<WorkloadOptions, 'providerId'>,
    timeoutMs = 180_000,
  ): Promise<Workload> {
    const workload = new Workload(this.wa, this.ghl, this.chats(contactsPerSession), {
      ...options,
      providerId: this.providerId,
    });
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < workload.chats.length) await workload.sendInbound(next++);
      }),
    );
    await this.waitForDeliveries(workload, timeoutMs);
    const { inbound } = await this.check(workload);
    if (workload.errors.length) throw new Error(`warm-up: could not send (${workload.errors[0].message})`);
    if (inbound.delivered < workload.chats.length)
      throw new Error(`warm-up: ${inbound.lost.length} messages did not reach GHL in time`);
    return workload;
  }

  /** The chats a workload writes in: `contactsPerSession` contacts for each linked number. */
  chats(contactsPerSession: number): Chat[] {
    return this.sessions.flatMap((session, s) =>
      Array.from({ length: contactsPerSession }, (_, c) => ({
        locationId: session.locationId,
        accountPhone: session.phone,
        contactPhone: `1666${String(s).padStart(5, '0')}${String(c).padStart(2, '0')}`,
      })),
    );
  }

  // ------------------------------------------------------------ faults

  private record(fault: string, detail?: string): void {
    this.faults.push({ at: Date.now(), fault, ...(detail ? { detail } : {}) });
  }

  /** kill -9 (or another signal) of a worker; returns the sessions it owned. */
  async killWorker(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<string[]> {
    const owned = await this.ownedBy(this.instanceId(name));
    this.record(`${signal} ${name}`, `${owned.length} sessions`);
    await this.cluster.stopWorker(name, signal, 30_000);
    return owned;
  }

  async killSync(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const sync = this.syncs.get(name);
    if (!sync) throw new Error(`no sync ${name}`);
    this.record(`${signal} ${name}`);
    await sync.stop(signal, 30_000);
    this.syncs.delete(name);
  }

  /** SIGSTOP, then SIGCONT after `ms`: a process that hangs (GC pause, noisy neighbour, VM freeze). */
  async pause(name: string, ms: number): Promise<void> {
    const target = this.cluster.workers.get(name) ?? this.syncs.get(name);
    if (!target) throw new Error(`no process ${name}`);
    this.record(`SIGSTOP ${name}`, `${ms} ms`);
    target.signal('SIGSTOP');
    await sleep(ms);
    target.signal('SIGCONT');
  }

  /** NATS down for `ms`, then up again with its JetStream store. */
  async restartNats(ms: number): Promise<void> {
    this.record('NATS down', `${ms} ms`);
    await this.cluster.nats.down();
    await sleep(ms);
    await this.cluster.nats.up();
  }

  /** Postgres down for `ms` (`immediate` is a crash), then up. Needs `privatePostgres`. */
  async restartPostgres(ms: number, mode: PostgresStopMode = 'fast'): Promise<void> {
    if (!this.pg) throw new Error('restartPostgres needs the privatePostgres option');
    this.record(`Postgres ${mode} stop`, `${ms} ms`);
    await this.pg.down(mode);
    await sleep(ms);
    await this.pg.up();
  }

  /** GHL answers every matching call with `status` (5xx) or a 429 for `ms`. */
  async ghlStorm(kind: '5xx' | '429', ms: number, status = 503, match?: FaultInput['match']): Promise<void> {
    this.record(`GHL ${kind === '429' ? '429' : status} storm`, `${ms} ms`);
    await this.ghl.addFault({
      ...(match ? { match } : {}),
      action: kind === '429' ? { kind: 'rate-limit' } : { kind: 'error', status },
      durationMs: ms,
    });
  }

  /**
   * A WhatsApp fault on `percent` of the live connections. A 401 (logged out) ends those sessions
   * for good, as the policy says; like the user would, the harness links each number again.
   */
  async waFault(kind: FaultKind, percent: number, workload?: Workload): Promise<string[]> {
    const result = await this.wa.injectFault({ kind, percent });
    const phones = new Set(result.affected.map((a) => a.phone));
    const hit = this.sessions.filter((s) => phones.has(s.phone));
    this.record(`WhatsApp ${kind}`, `${hit.length} sessions`);
    if (kind === 'replaced') this.injected440 += result.affected.length;
    if (kind === 'logged_out') {
      const at = Date.now();
      for (const session of hit) {
        this.loggedOutAt.set(session.locationId, at);
        workload?.pause(session.locationId);
      }
    }
    return hit.map((s) => s.locationId);
  }

  /** Links logged-out numbers again (new QR, scanned by the same phone) and resumes their traffic. */
  async relink(locationIds: readonly string[], workload?: Workload, timeoutMs = 60_000): Promise<void> {
    const sessions = this.sessions.filter((s) => locationIds.includes(s.locationId));
    for (const { locationId } of sessions) await this.cluster.waitForState(locationId, 'logged_out', 30_000);
    await Promise.all(sessions.map((s) => this.startAndScan(s)));
    await this.waitForOpen(locationIds, timeoutMs);
    for (const id of locationIds) workload?.resume(id);
  }

  // ------------------------------------------------------------ checking

  /** What came out, compared with what the workload sent. */
  async check(workload: Workload): Promise<RunCheck> {
    const inboundSent = workload.inbound
      .filter((r) => r.entry !== 'refused')
      .map((r) => this.withExcuse(r, 'inbound'));
    const ghlMessages = await this.ghl.messages();
    // GHL shows a conversation by message date (the WhatsApp time the sync writes), then by arrival.
    const arrived = ghlMessages.filter((m) => m.direction === 'inbound' && m.altId);
    const shown = arrived
      .map((m, index) => ({ m, index, at: Date.parse(m.dateAdded) }))
      .sort((x, y) => x.at - y.at || x.index - y.index)
      .map(({ m }) => ({ key: m.altId! }));
    const inbound = checkDeliveries(inboundSent, shown);
    const arrivalInversions = checkDeliveries(
      inboundSent,
      arrived.map((m) => ({ key: m.altId! })),
    ).reordered.length;
    const failed = new Set(
      ghlMessages.filter((m) => m.direction === 'outbound' && m.status === 'failed').map((m) => m.id),
    );
    // The phone shows one message per WhatsApp id, however often the stanza came (a resend after a
    // lost acknowledgement reuses the id); a second id with the same text is a second message.
    const outboundObserved: { key: string }[] = [];
    for (const session of this.sessions) {
      const seenIds = new Set<string>();
      for (const item of await this.wa.outboxAll(session.phone)) {
        if (item.kind !== 'message' || item.text === undefined || seenIds.has(item.id)) continue;
        seenIds.add(item.id);
        outboundObserved.push({ key: item.text });
      }
    }
    const outbound = checkDeliveries(
      workload.outbound
        .filter((r) => r.entry !== 'refused')
        .map((r) => this.withExcuse(r, 'outbound', failed)),
      outboundObserved,
    );
    const stats = await this.wa.stats();
    const rows = await this.cluster.sessionRows();
    const seen440 = this.cluster.disconnects440;
    const counts = await this.ghl.counts();
    return {
      inbound,
      outbound,
      sessions: {
        doubleConnections: stats.doubleConnections,
        // The sandbox sends 440 only when told to or when a second login of a device evicts the first.
        selfInflicted440s: Math.max(stats.doubleConnections, seen440 - this.injected440),
        notOpen: this.sessions
          .map((s) => ({ locationId: s.locationId, state: rows.get(s.locationId)?.state ?? 'none' }))
          .filter((s) => s.state !== 'open'),
      },
      duplicateContacts: counts.duplicatePhones.length,
      unexpectedQrs: [...this.unexpectedQrs],
      arrivalInversions,
      closes440: { seen: seen440, injected: this.injected440 },
      entryErrors: [...workload.errors],
      failedInGhl: workload.outbound
        .filter((r) => r.ghlMessageId && failed.has(r.ghlMessageId))
        .map((r) => r.key),
    };
  }

  /**
   * Waits until everything the workload sent came out (or has an excuse), or `timeoutMs` passes;
   * returns how long it took. Cheap counts are polled first; the full comparison runs when they add up.
   */
  async waitForDeliveries(workload: Workload, timeoutMs: number): Promise<number> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    for (;;) {
      const counts = await this.ghl.counts();
      const expectedIn = workload.inbound.filter(
        (r) => r.entry !== 'refused' && !this.withExcuse(r, 'inbound').excusedIfMissing,
      ).length;
      if (counts.messages.inbound >= expectedIn) {
        const check = await this.check(workload);
        if (!check.inbound.lost.length && !(check.outbound?.lost.length ?? 0)) return Date.now() - started;
      }
      if (Date.now() > deadline) return Date.now() - started;
      await sleep(1_000);
    }
  }

  private withExcuse(
    record: SentRecord,
    direction: 'inbound' | 'outbound',
    failedInGhl?: Set<string>,
  ): SentMessage {
    const message: SentMessage = { key: record.key, conversation: record.conversation, seq: record.seq };
    if (record.entry === 'uncertain') {
      message.excusedIfMissing = 'the entry point call failed: unknown whether the message went in';
      return message;
    }
    const loggedOut = this.loggedOutAt.get(record.locationId);
    if (loggedOut === undefined || loggedOut < record.sentAt) return message;
    if (direction === 'inbound' && record.entry === 'queued') {
      message.excusedIfMissing = 'queued for a device the phone then logged out (401)';
    }
    if (direction === 'outbound' && record.ghlMessageId && failedInGhl?.has(record.ghlMessageId)) {
      message.excusedIfMissing = 'reported failed to GHL: the number was logged out (401)';
    }
    return message;
  }

  /** For a post-mortem: each session's projection row, its connections in the sandbox, and its lifecycle events. */
  async diagnostics(): Promise<Record<string, unknown>> {
    const rows = await this.cluster.sessionRows();
    const stats = await this.wa.stats({ detail: true });
    const lifecycle = this.cluster.events
      .filter((e) => e.type.startsWith('session.') && e.type !== 'session.qr')
      .map((e) => {
        const p = e.payload as { workerId?: string; code?: number; state?: string; reason?: string };
        return `${e.occurredAt.slice(11, 23)} ${e.locationId} ${e.type} ${p.workerId ?? ''} ${p.state ?? ''} ${p.code ?? ''} ${p.reason ?? ''}`.trim();
      });
    return {
      sessions: this.sessions.map((s) => {
        const { qr: _qr, ...row } = rows.get(s.locationId) ?? ({} as Record<string, unknown>);
        return { ...s, ...row, sandbox: stats.perAccount?.find((a) => a.phone === s.phone) };
      }),
      sandbox: { ...stats, perAccount: undefined },
      lifecycle,
    };
  }

  // ------------------------------------------------------------ linking

  private async startAndScan(session: SessionSpec): Promise<void> {
    this.expectingQr.set(session.locationId, session.phone);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.cluster.commands.request('session.start', session.locationId, {}, { timeoutMs: 20_000 });
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        await sleep(1_000 * attempt);
      }
    }
  }

  /** Scans the QRs of sessions being linked; any other QR means a linked session lost its credentials. */
  private watch(): void {
    const scanner = this.cluster.autoScan((locationId) => {
      const phone = this.expectingQr.get(locationId);
      return phone ? { phone, name: `Phone ${locationId}` } : undefined;
    });
    this.stopAutoScan = () => scanner.stop();
    this.stopWatching = this.cluster.onEvent((event, at) => {
      if (event.type === 'session.ready') this.expectingQr.delete(event.locationId);
      if (
        event.type === 'session.qr' &&
        !this.expectingQr.has(event.locationId) &&
        this.sessions.some((s) => s.locationId === event.locationId)
      ) {
        this.unexpectedQrs.push({ locationId: event.locationId, at });
      }
    });
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
