/**
 * `npm start`: the whole system on this machine. Makes sure NATS and Postgres answer (starting local
 * ones under ./.data when the binaries are installed, or saying exactly what to run), applies the
 * migrations, then runs every app as a child process with readable, prefixed logs. Ctrl-C stops
 * everything gracefully (SIGTERM, the same path Kubernetes uses).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import {
  natsHint,
  portOpen,
  postgresHint,
  startLocalNats,
  startLocalPostgres,
  waitForPort,
} from './local-services';
import { DEMO_LOCATION, DEMO_PHONE, scanDemoQr } from './demo-phone';
import { formatLogLine } from './log-format';

const ROOT = resolve(__dirname, '../../..');
const DATA_DIR = join(ROOT, '.data');

interface LocalApp {
  name: string;
  entry: string;
  /** Port of `/health/ready`. */
  port: number;
  env: Record<string, string>;
  nodeArgs?: string[];
}

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/wa_bridge';
const WA_WS_PORT = 8781;
const WA_ADMIN_PORT = 8782;
const GHL_PORT = 8090;
const API_PORT = 3000;
const API_URL = `http://127.0.0.1:${API_PORT}`;
const WA_ADMIN_TOKEN = 'wa-sandbox-dev-token';

function say(message: string): void {
  process.stdout.write(`\x1b[1m[start]\x1b[0m ${message}\n`);
}

async function ensureService(
  label: string,
  url: URL,
  defaultPort: number,
  startLocal: (port: number) => boolean,
  hint: string,
): Promise<void> {
  const host = url.hostname;
  const port = Number(url.port || defaultPort);
  if (await portOpen(host, port)) {
    say(`${label} answers at ${host}:${port}`);
    return;
  }
  const local = host === '127.0.0.1' || host === 'localhost';
  if (local && startLocal(port) && (await waitForPort(host, port, 20_000))) {
    say(`${label} was not running: started a local one under .data/ on port ${port}`);
    return;
  }
  say(`${label} is not reachable at ${host}:${port}. To fix: ${hint}`);
  process.exit(1);
}

async function waitReady(app: LocalApp, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${app.port}/health/ready`);
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** Children of this run, stopped together. */
class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;

  constructor(private readonly env: NodeJS.ProcessEnv) {
    process.on('SIGINT', () => this.stopAll('SIGINT'));
    process.on('SIGTERM', () => this.stopAll('SIGTERM'));
  }

  spawn(app: LocalApp, onLine?: (line: string) => void): ChildProcess {
    if (!existsSync(join(ROOT, app.entry))) {
      say(`${app.name}: ${app.entry} is missing; run npm run build`);
      process.exit(1);
    }
    const child = spawn(process.execPath, [...(app.nodeArgs ?? []), app.entry], {
      cwd: ROOT,
      env: { ...this.env, ...app.env },
    });
    this.children.set(app.name, child);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        onLine?.(line);
        process.stdout.write(formatLogLine(app.name, line) + '\n');
      });
    }
    child.on('exit', (code, signal) => {
      this.children.delete(app.name);
      if (!this.stopping) {
        say(`${app.name} exited (${signal ?? code}); stopping the rest`);
        this.stopAll('SIGTERM');
      }
      if (this.children.size === 0) process.exit(this.stopping ? 0 : 1);
    });
    return child;
  }

  stopAll(signal: NodeJS.Signals): void {
    if (this.stopping) return;
    this.stopping = true;
    say(`${signal}: stopping every app gracefully`);
    for (const child of this.children.values()) child.kill('SIGTERM');
  }
}

/** Starts the WhatsApp sandbox and returns what Baileys needs to trust and reach it. */
function startWaSandbox(supervisor: Supervisor): Promise<{ wsUrl: string; rootPublicKey: string }> {
  return new Promise((resolvePromise) => {
    const app: LocalApp = {
      name: 'wa-sandbox',
      entry: 'dist/apps/wa-sandbox/src/main.js',
      port: WA_ADMIN_PORT,
      env: {
        WA_SANDBOX_WS_PORT: String(WA_WS_PORT),
        WA_SANDBOX_ADMIN_PORT: String(WA_ADMIN_PORT),
        LOG_LEVEL: 'warn',
      },
    };
    supervisor.spawn(app, (line) => {
      try {
        const parsed = JSON.parse(line) as { event?: string; wsUrl?: string; rootPublicKey?: string };
        if (parsed.event === 'listening' && parsed.wsUrl && parsed.rootPublicKey) {
          resolvePromise({ wsUrl: parsed.wsUrl, rootPublicKey: parsed.rootPublicKey });
        }
      } catch {
        // a plain log line
      }
    });
  });
}

/** Starts the GHL sandbox with a demo location and returns its webhook signing keys. */
async function startGhlSandbox(
  supervisor: Supervisor,
): Promise<{ ed25519PublicKeyPem: string; rsaPublicKeyPem: string }> {
  const app: LocalApp = {
    name: 'ghl-sandbox',
    entry: 'dist/apps/ghl-sandbox/src/main.js',
    port: GHL_PORT,
    env: {
      PORT: String(GHL_PORT),
      SEED_DEMO: 'true',
      PROVIDER_DELIVERY_URL: `http://127.0.0.1:${API_PORT}/webhooks/ghl/provider`,
      WEBHOOK_URL: `http://127.0.0.1:${API_PORT}/webhooks/ghl`,
      LOG_LEVEL: 'warn',
    },
  };
  supervisor.spawn(app);
  if (!(await waitReady(app, 30_000))) throw new Error('the GHL sandbox did not become ready');
  const res = await fetch(`http://127.0.0.1:${GHL_PORT}/admin/keys`);
  return (await res.json()) as { ed25519PublicKeyPem: string; rsaPublicKeyPem: string };
}

async function main(): Promise<void> {
  await ensureService(
    'NATS',
    new URL(NATS_URL.split(',')[0]),
    4222,
    (p) => startLocalNats(DATA_DIR, p),
    natsHint(4222),
  );
  await ensureService(
    'PostgreSQL',
    new URL(DATABASE_URL),
    5432,
    (p) => startLocalPostgres(DATA_DIR, p),
    postgresHint(),
  );

  const env = { ...process.env, NATS_URL, DATABASE_URL, NODE_ENV: process.env.NODE_ENV ?? 'development' };
  say('applying database migrations');
  const migrate = spawnSync(process.execPath, ['dist/libs/persistence/src/cli/migrate.js', 'run'], {
    cwd: ROOT,
    env,
    stdio: 'inherit',
  });
  if (migrate.status !== 0) process.exit(migrate.status ?? 1);

  const supervisor = new Supervisor(env);
  say('starting the WhatsApp and GHL sandboxes (local stand-ins for WhatsApp and GoHighLevel)');
  const wa = await startWaSandbox(supervisor);
  const ghlKeys = await startGhlSandbox(supervisor);

  const apps: LocalApp[] = [
    {
      name: 'api',
      entry: 'dist/apps/api/src/main.js',
      port: API_PORT,
      env: {
        HTTP_PORT: String(API_PORT),
        PUBLIC_BASE_URL: API_URL,
        GHL_MARKETPLACE_URL: `http://127.0.0.1:${GHL_PORT}`,
        GHL_WEBHOOK_PUBLIC_KEY_ED25519: ghlKeys.ed25519PublicKeyPem,
        GHL_WEBHOOK_PUBLIC_KEY_RSA: ghlKeys.rsaPublicKeyPem,
      },
    },
    {
      name: 'session-worker',
      entry: 'dist/apps/session-worker/src/main.js',
      port: 3001,
      // The sandbox signs with its own root key; this preload makes Baileys trust it (never in production).
      nodeArgs: ['-r', './dist/libs/wa-sandbox-client/src/trust-preload.js'],
      env: {
        HTTP_PORT: '3001',
        INSTANCE_ID: 'worker-local-1',
        WA_WS_URL: wa.wsUrl,
        WA_SANDBOX_ROOT_PUBKEY: wa.rootPublicKey,
      },
    },
    {
      name: 'sync',
      entry: 'dist/apps/sync/src/main.js',
      port: 3002,
      env: { HTTP_PORT: '3002', GHL_API_BASE_URL: `http://127.0.0.1:${GHL_PORT}` },
    },
  ];
  for (const app of apps) supervisor.spawn(app);

  const ready = await Promise.all(apps.map(async (app) => [app, await waitReady(app, 60_000)] as const));
  for (const [app, ok] of ready) {
    say(`${app.name.padEnd(15)} ${ok ? 'ready' : 'NOT READY'}  http://127.0.0.1:${app.port}/health/ready`);
  }
  if (!ready.every(([, ok]) => ok)) return;
  say(`WhatsApp sandbox admin: http://127.0.0.1:${WA_ADMIN_PORT} (token ${WA_ADMIN_TOKEN})`);
  say(`GHL sandbox: http://127.0.0.1:${GHL_PORT} (admin token sandbox-admin-token)`);
  say(`API docs (OpenAPI): ${API_URL}/docs`);
  const dashboard = await installDemoLocation();
  say('all apps are up. Ctrl-C stops them.');
  if (dashboard) {
    say(`Dashboard: ${dashboard}`);
    offerSimulatedScan();
  }
}

/**
 * Installs the demo location the way a GHL user would: our install link, the GHL sandbox's consent page
 * (auto-approving the demo location), our OAuth callback (where sync exchanges the code over NATS).
 * Then a development session (POST /api/dev/session, refused in production) makes the dashboard link.
 */
async function installDemoLocation(): Promise<string | null> {
  try {
    const installed = await fetch(`${API_URL}/oauth/authorize`, { redirect: 'follow' });
    if (!installed.ok) {
      const title = /<h1>([^<]*)<\/h1>/.exec(await installed.text())?.[1] ?? 'no page';
      say(
        `installing ${DEMO_LOCATION} through OAuth failed (${installed.status}: ${title}); see the api and sync logs`,
      );
      return null;
    }
    say(
      `${DEMO_LOCATION} installed through the OAuth flow (sandbox consent → ${API_URL}/oauth/callback → sync)`,
    );
    const res = await fetch(`${API_URL}/api/dev/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ locationId: DEMO_LOCATION }),
    });
    if (!res.ok) {
      say(`could not make a development dashboard session (${res.status}): ${await res.text()}`);
      return null;
    }
    const { token } = (await res.json()) as { token: string };
    return `${API_URL}/app?locationId=${DEMO_LOCATION}&devToken=${encodeURIComponent(token)}`;
  } catch (error) {
    say(`installing ${DEMO_LOCATION} failed: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

/** The simulated phone: Enter scans the QR the dashboard shows, through the WhatsApp sandbox's admin API. */
function offerSimulatedScan(): void {
  const how = `press Connect in the dashboard; when the QR shows, press Enter here to scan it with the simulated phone +${DEMO_PHONE}`;
  if (!process.stdin.isTTY) {
    say(
      `To link WhatsApp: ${how.replace('press Enter here', 'POST it to the WhatsApp sandbox /pairing/scan')}`,
    );
    return;
  }
  say(`To link WhatsApp: ${how}.`);
  createInterface({ input: process.stdin }).on('line', () => {
    void scanDemoQr({
      databaseUrl: DATABASE_URL,
      waAdminUrl: `http://127.0.0.1:${WA_ADMIN_PORT}`,
      waAdminToken: WA_ADMIN_TOKEN,
    }).then(say);
  });
}

main().catch((error: unknown) => {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
