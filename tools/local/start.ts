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
import { formatLogLine } from './log-format';

const ROOT = resolve(__dirname, '../../..');
const DATA_DIR = join(ROOT, '.data');

interface LocalApp {
  name: string;
  entry: string;
  port: number;
  env: Record<string, string>;
}

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/wa_bridge';

const APPS: LocalApp[] = [
  { name: 'api', entry: 'dist/apps/api/src/main.js', port: 3000, env: { HTTP_PORT: '3000' } },
  {
    name: 'session-worker',
    entry: 'dist/apps/session-worker/src/main.js',
    port: 3001,
    env: { HTTP_PORT: '3001', INSTANCE_ID: 'worker-local-1' },
  },
  { name: 'sync', entry: 'dist/apps/sync/src/main.js', port: 3002, env: { HTTP_PORT: '3002' } },
];

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

function pipeLogs(name: string, child: ChildProcess): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) =>
      process.stdout.write(formatLogLine(name, line) + '\n'),
    );
  }
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

  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping every app gracefully`);
    for (const child of children.values()) child.kill('SIGTERM');
  };
  process.on('SIGINT', () => stopAll('SIGINT'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));

  for (const app of APPS) {
    if (!existsSync(join(ROOT, app.entry))) {
      say(`${app.name}: ${app.entry} is missing; run npm run build`);
      process.exit(1);
    }
    const child = spawn(process.execPath, [app.entry], { cwd: ROOT, env: { ...env, ...app.env } });
    children.set(app.name, child);
    pipeLogs(app.name, child);
    child.on('exit', (code, signal) => {
      children.delete(app.name);
      if (!stopping) {
        say(`${app.name} exited (${signal ?? code}); stopping the rest`);
        stopAll('SIGTERM');
      }
      if (children.size === 0) process.exit(stopping ? 0 : 1);
    });
  }

  const ready = await Promise.all(APPS.map(async (app) => [app, await waitReady(app, 60_000)] as const));
  for (const [app, ok] of ready) {
    say(`${app.name.padEnd(15)} ${ok ? 'ready' : 'NOT READY'}  http://127.0.0.1:${app.port}/health/ready`);
  }
  if (ready.every(([, ok]) => ok)) say('all apps are up. Ctrl-C stops them.');
}

main().catch((error: unknown) => {
  say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
