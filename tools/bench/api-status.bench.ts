/**
 * Latency of `GET /api/locations/:id/whatsapp/status` under a steady 200 requests/s, open loop.
 *
 *   npm run build && node dist/tools/bench/api-status.bench.js [--rate 200] [--seconds 20] [--warmup 3] [--locations 100]
 *
 * Starts a private nats-server, a throwaway database with `--locations` installed locations (each with a
 * session, a live lease and a token, so every status reads a full row), and the built api as its own
 * process, then sends requests on a fixed schedule over loopback whether or not earlier ones have been
 * answered (open loop: a slow answer cannot slow the load down and hide itself). Latency is measured
 * from each request's scheduled time, so queueing in the client counts too. The credential is an
 * API key from the database (the same per-credential rate limiter and key cache as production, with a
 * limit far above the rate).
 */
import { freePort, startNatsServer, type NatsServerHandle } from '@app/testing';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import { createDataSource, runMigrations } from '@app/persistence';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(__dirname, '../../..');

interface Options {
  rate: number;
  seconds: number;
  warmup: number;
  locations: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { rate: 200, seconds: 20, warmup: 3, locations: 100 };
  for (let i = 0; i < argv.length; i++) {
    const match = /^--(rate|seconds|warmup|locations)(?:=(.*))?$/.exec(argv[i] ?? '');
    if (!match) throw new Error(`unknown argument ${argv[i]}`);
    const value = Number(match[2] ?? argv[++i]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${match[1]} needs a whole number`);
    options[match[1] as keyof Options] = value;
  }
  if (options.rate < 1 || options.seconds < 1 || options.locations < 1)
    throw new Error('rate, seconds and locations must be ≥ 1');
  return options;
}

function percentile(sorted: Float64Array, p: number): number {
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

interface Outcome {
  latencyMs: number;
  status: number;
}

/** One GET over a kept-alive connection; resolves with the status, never rejects. */
function get(agent: Agent, port: number, path: string, key: string): Promise<number> {
  return new Promise((done) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${key}` } },
      (res) => {
        res.resume();
        res.once('end', () => done(res.statusCode ?? 0));
        res.once('error', () => done(0));
      },
    );
    req.once('error', () => done(0));
    req.end();
  });
}

/** Sends `rate` requests per second for `seconds` on a fixed schedule; returns one outcome per request. */
async function openLoop(
  options: { rate: number; seconds: number },
  send: (i: number) => Promise<number>,
): Promise<Outcome[]> {
  const total = options.rate * options.seconds;
  const intervalMs = 1000 / options.rate;
  const outcomes: Promise<Outcome>[] = [];
  const start = performance.now() + 20;
  let next = 0;
  await new Promise<void>((finished) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        const scheduled = start + next * intervalMs;
        outcomes.push(send(next).then((status) => ({ status, latencyMs: performance.now() - scheduled })));
        next++;
      }
      if (next >= total) finished();
      else setTimeout(tick, Math.max(0, Math.min(intervalMs, start + next * intervalMs - performance.now())));
    };
    setTimeout(tick, 20);
  });
  return Promise.all(outcomes);
}

/** CPU time (user + system) a process has used, from /proc (Linux); NaN elsewhere. */
function processCpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** Quantiles of the api's own histogram for the status route: its time, without the client's and the OS's. */
function serverSideQuantiles(metrics: string): { p50: number; p99: number } {
  const buckets: [number, number][] = [];
  for (const line of metrics.split('\n')) {
    const match = /^api_http_request_duration_seconds_bucket\{([^}]*)\} (\d+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (labels.route !== '/api/locations/:locationId/whatsapp/status' || labels.status !== '200') continue;
    buckets.push([labels.le === '+Inf' ? Infinity : Number(labels.le) * 1000, Number(match[2])]);
  }
  const count = buckets.find(([le]) => le === Infinity)?.[1] ?? 0;
  const at = (q: number) => buckets.find(([, n]) => n >= q * count)?.[0] ?? Infinity;
  return { p50: at(0.5), p99: at(0.99) };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const entry = join(ROOT, 'dist/apps/api/src/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);

  let nats: NatsServerHandle | undefined;
  let db: TestDatabase | undefined;
  let api: ChildProcess | undefined;
  try {
    nats = await startNatsServer();
    db = await createTestDatabase('bench_test_api_status');
    await runMigrations(db.url, () => undefined);
    const locations = Array.from(
      { length: options.locations },
      (_, i) => `benchLoc${String(i).padStart(5, '0')}`,
    );
    const dataSource = await createDataSource(db.url).initialize();
    await dataSource.query(
      `INSERT INTO installations (location_id, install_type) SELECT unnest($1::varchar[]), 'Location'`,
      [locations],
    );
    await dataSource.query(
      `INSERT INTO sessions (location_id, desired_state, state, phone, owner_worker_id, state_epoch)
       SELECT unnest($1::varchar[]), 'running', 'open', '+15550000001', 'worker-bench', 1`,
      [locations],
    );
    await dataSource.query(
      `INSERT INTO session_leases (location_id, owner_id, epoch, expires_at)
       SELECT unnest($1::varchar[]), 'worker-bench', 1, now() + interval '1 hour'`,
      [locations],
    );
    await dataSource.query(
      `INSERT INTO oauth_tokens (resource_type, resource_id, access_token_enc, refresh_token_enc, expires_at, user_type)
       SELECT 'location', unnest($1::varchar[]), $2, $2, now() + interval '1 day', 'Location'`,
      [locations, randomBytes(32)],
    );
    const key = `wak_${randomBytes(32).toString('base64url')}`;
    await dataSource.query(`INSERT INTO api_keys (key_hash, scope, label) VALUES ($1, 'admin', 'bench')`, [
      createHash('sha256').update(key).digest('hex'),
    ]);
    await dataSource.destroy();

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    api = spawn(process.execPath, [entry], {
      cwd: ROOT,
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH ?? '',
        NATS_URL: nats.url,
        DATABASE_URL: db.url,
        HTTP_PORT: String(port),
        LOG_LEVEL: 'warn',
        API_RATE_LIMIT_PER_SECOND: String(options.rate * 10),
        API_RATE_LIMIT_BURST: String(options.rate * 10),
      },
    });
    await waitReady(url, api);

    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const send = (i: number) =>
      get(agent, port, `/api/locations/${locations[i % locations.length]}/whatsapp/status`, key);
    if (options.warmup > 0) await openLoop({ rate: options.rate, seconds: options.warmup }, send);
    const cpuBefore = processCpuMs(api.pid);
    const started = performance.now();
    const outcomes = await openLoop(options, send);
    const cpuMs = processCpuMs(api.pid) - cpuBefore;
    const elapsed = (performance.now() - started) / 1000;
    agent.destroy();
    const server = serverSideQuantiles(await (await fetch(`${url}/metrics`)).text());

    const ok = outcomes.filter((o) => o.status === 200);
    const latencies = Float64Array.from(ok.map((o) => o.latencyMs)).sort();
    const round = (n: number) => Math.round(n * 100) / 100;
    console.log(
      `\nGET /api/locations/:id/whatsapp/status, open loop at ${options.rate} req/s for ${options.seconds} s ` +
        `(${options.locations} locations, ${options.warmup} s warm-up), loopback`,
    );
    console.log(
      `machine: ${cpus().length} cores, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.table({
      'latency (ms)': {
        p50: round(percentile(latencies, 50)),
        p90: round(percentile(latencies, 90)),
        p99: round(percentile(latencies, 99)),
        max: round(latencies[latencies.length - 1]),
      },
    });
    console.log(
      `server-side (api_http_request_duration_seconds, warm-up included, bucket upper bounds): ` +
        `p50 ≤ ${server.p50} ms, p99 ≤ ${server.p99} ms`,
    );
    if (Number.isFinite(cpuMs)) {
      console.log(
        `api process CPU: ${round(cpuMs / outcomes.length)} ms per request, ${round((cpuMs / 1000 / elapsed) * 100)}% of one core`,
      );
    }
    const others = outcomes.filter((o) => o.status !== 200).map((o) => o.status || 'network error');
    console.log(
      `requests: ${outcomes.length}, 200s: ${ok.length}, others: ${others.length}${others.length ? ` (${[...new Set(others)].join(', ')})` : ''}, ` +
        `achieved ${round(outcomes.length / elapsed)} req/s`,
    );
    console.log(
      JSON.stringify({
        bench: 'api-status',
        rate: options.rate,
        seconds: options.seconds,
        requests: outcomes.length,
        errors: outcomes.length - ok.length,
        p50: round(percentile(latencies, 50)),
        p99: round(percentile(latencies, 99)),
        max: round(latencies[latencies.length - 1]),
      }),
    );
  } finally {
    api?.kill('SIGTERM');
    const proc = api;
    if (proc && proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
    await nats?.stop();
    await db?.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
