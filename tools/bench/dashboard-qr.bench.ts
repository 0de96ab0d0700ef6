/**
 * QR latency of the dashboard: from a `session.qr` event published on the bus to the new QR painted in
 * an open dashboard page in real Chromium.
 *
 *   npm run build && node dist/tools/bench/dashboard-qr.bench.js [--rotations 30] [--warmup 3] [--gap-ms 250]
 *
 * Starts a private nats-server, a throwaway database (migrated, one installed location), the built api
 * as its own process, and Debian's Chromium (playwright-core, /usr/bin/chromium or $CHROMIUM_BIN). Each
 * rotation publishes a synthetic `session.qr` with EventBus (stamping the time just before publishing)
 * and waits for the page's `dashboard:qr-rendered` event for that event id, which the page dispatches
 * after the new image is decoded and a frame was painted. Both stamps are `Date.now()` on this machine.
 */
import { EventBus, MessagingConnection } from '@app/messaging';
import { createDataSource, runMigrations } from '@app/persistence';
import { freePort, startNatsServer, type NatsServerHandle } from '@app/testing';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { chromium } from 'playwright-core';

const LOC = 'benchQrLoc0001';
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ROOT = resolve(__dirname, '../../..');

/** What the page functions below touch (the repo compiles without lib.dom). */
interface PageGlobals {
  qrRenders: Record<string, number>;
  document: {
    addEventListener(type: string, listener: (e: { detail: { eventId: string; at: number } }) => void): void;
  };
}

interface Options {
  rotations: number;
  warmup: number;
  gapMs: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { rotations: 30, warmup: 3, gapMs: 250 };
  for (let i = 0; i < argv.length; i++) {
    const match = /^--(rotations|warmup|gap-ms)(?:=(.*))?$/.exec(argv[i] ?? '');
    if (!match) throw new Error(`unknown argument ${argv[i]}`);
    const value = Number(match[2] ?? argv[++i]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${match[1]} needs a whole number`);
    if (match[1] === 'rotations') options.rotations = value;
    else if (match[1] === 'warmup') options.warmup = value;
    else options.gapMs = value;
  }
  if (options.rotations < 20) throw new Error('--rotations must be at least 20 for a meaningful p95');
  return options;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function waitReady(url: string, api: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (api.exitCode !== null) throw new Error(`the api exited (${api.exitCode}) before it was ready`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the api did not become ready');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const entry = join(ROOT, 'dist/apps/api/src/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_BIN)`);

  let nats: NatsServerHandle | undefined;
  let db: TestDatabase | undefined;
  let api: ChildProcess | undefined;
  let connection: MessagingConnection | undefined;
  const profile = mkdtempSync(join(tmpdir(), 'bench-chromium-'));
  try {
    nats = await startNatsServer();
    db = await createTestDatabase('bench_test_dashboard');
    await runMigrations(db.url, () => undefined);
    const dataSource = await createDataSource(db.url).initialize();
    await dataSource.query(`INSERT INTO installations (location_id, install_type) VALUES ($1, 'Location')`, [
      LOC,
    ]);
    await dataSource.query(
      `INSERT INTO oauth_tokens (resource_type, resource_id, access_token_enc, refresh_token_enc, expires_at, user_type)
       VALUES ('location', $1, $2, $2, now() + interval '1 day', 'Location')`,
      [LOC, randomBytes(32)],
    );
    await dataSource.destroy();

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      HTTP_PORT: String(port),
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
    };
    api = spawn(process.execPath, [entry], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: 'ignore',
    });
    await waitReady(url, api);

    const session = (await (
      await fetch(`${url}/api/dev/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ locationId: LOC }),
      })
    ).json()) as { token: string };

    const logger = pino({ level: 'silent' });
    connection = await MessagingConnection.connect({ servers: nats.url, name: 'bench-qr', logger });
    const bus = new EventBus(connection, logger);

    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 390, height: 844 },
    });
    try {
      const page = await context.newPage();
      await page.goto(`${url}/app?locationId=${LOC}&devToken=${encodeURIComponent(session.token)}`);
      // Functions, not strings: the page's CSP forbids eval, which string predicates would need.
      await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 15_000 });
      await page.evaluate(() => {
        const page = globalThis as unknown as PageGlobals;
        page.qrRenders = {};
        page.document.addEventListener('dashboard:qr-rendered', (e) => {
          page.qrRenders[e.detail.eventId] = e.detail.at;
        });
      });

      const latencies: number[] = [];
      for (let i = 0; i < options.warmup + options.rotations; i++) {
        const qr = `2@${randomBytes(24).toString('base64')},${randomBytes(32).toString('base64')},${randomBytes(32).toString('base64')},${randomBytes(16).toString('base64')}`;
        const publishedAt = Date.now();
        const { envelope } = await bus.publish(
          'session.qr',
          LOC,
          { qr, attempt: i + 1, expiresAt: new Date(publishedAt + 20_000).toISOString(), workerId: 'bench' },
          { occurredAt: new Date(publishedAt) },
        );
        const rendered = await page.waitForFunction(
          (id) => (globalThis as unknown as PageGlobals).qrRenders[id],
          envelope.id,
          { timeout: 10_000, polling: 'raf' },
        );
        const renderedAt = await rendered.jsonValue();
        if (i >= options.warmup) latencies.push(renderedAt - publishedAt);
        await new Promise((r) => setTimeout(r, options.gapMs));
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
      const p95 = percentile(sorted, 95);
      console.log(
        `\nDashboard QR latency: session.qr published → new QR painted in Chromium (${options.rotations} rotations, ${options.warmup} warm-up)`,
      );
      console.log(
        `machine: ${cpus().length} cores, load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      );
      console.table({
        'latency (ms)': {
          min: sorted[0],
          p50: percentile(sorted, 50),
          p95,
          p99: percentile(sorted, 99),
          max: sorted[sorted.length - 1],
          mean: Math.round(mean * 10) / 10,
        },
      });
      console.log(`target p95 ≤ 300 ms: ${p95 <= 300 ? 'met' : 'NOT met'}`);
      console.log(
        JSON.stringify({
          bench: 'dashboard-qr',
          rotations: options.rotations,
          p50: percentile(sorted, 50),
          p95,
          max: sorted[sorted.length - 1],
          samples: latencies,
        }),
      );
    } finally {
      await context.close();
    }
  } finally {
    await connection?.drain().catch(() => undefined);
    api?.kill('SIGTERM');
    if (api && api.exitCode === null) await new Promise((r) => api!.once('exit', r));
    await nats?.stop();
    await db?.drop();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
