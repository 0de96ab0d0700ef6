/**
 * Measures the sync app end to end: WhatsApp events published on the bus → the built sync app (a
 * separate process, as in production) → the GHL sandbox (its own process too, as GHL is remote). A
 * message's latency is from just before its publish to the sandbox's receipt of it (the time the
 * sandbox stores on the message; both processes read the same system clock, in milliseconds).
 *
 *   npm run build && node dist/tools/bench/sync.bench.js --scenario latency|throughput|limits [options]
 *
 *   latency     events at a fixed rate (default 200/s) over 100 locations, limiter on; p50/p99 from
 *               publish to the sandbox receiving the inbound message.
 *   throughput  as many events as the sync takes, over 100 locations, limiter off (and the sandbox's
 *               limits off); sustained events/s.
 *   limits      3× the allowed burst (300 messages) for each of 50 locations at once, limiter on,
 *               sandbox at GHL's 100 / 10 s: 429s served, and the share of the allowed rate used.
 *
 * Options: --events N, --rate N (latency), --locations N, --chats N (per location), --concurrency N
 * (SYNC_CONCURRENCY), --burst N (limits: messages per location). Chats are warmed up first (contact
 * and conversation exist), so a measured message is one GHL call, as in a running deployment.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseEnv, syncConfigSchema } from '@app/config';
import type { EventPayload } from '@app/contracts';
import {
  BusUnavailableError,
  EventBus,
  MessagingConnection,
  STREAMS,
  StreamProvisioner,
} from '@app/messaging';
import { createDataSource, SecretBox } from '@app/persistence';
import { freePort, startNatsServer } from '@app/testing';
import { createTestDatabase } from '@app/testing/postgres';
import { pino } from 'pino';
import { Sql } from '../../apps/sync/src/db/sql';
import { InstallationRepository, TokenRepository } from '../../apps/sync/src/tokens/token.repository';

type Scenario = 'latency' | 'throughput' | 'limits';

interface Options {
  scenario: Scenario;
  events: number;
  rate: number;
  locations: number;
  chats: number;
  concurrency: number;
  burst: number;
}

const DEFAULTS: Record<Scenario, Omit<Options, 'scenario'>> = {
  latency: { events: 6_000, rate: 200, locations: 100, chats: 2, concurrency: 128, burst: 0 },
  throughput: { events: 20_000, rate: 0, locations: 100, chats: 10, concurrency: 256, burst: 0 },
  limits: { events: 0, rate: 0, locations: 50, chats: 10, concurrency: 256, burst: 300 },
};

function parseArgs(argv: string[]): Options {
  const scenarioIndex = argv.indexOf('--scenario');
  const scenario = argv[scenarioIndex + 1] as Scenario | undefined;
  if (scenarioIndex === -1 || !scenario || !(scenario in DEFAULTS)) {
    throw new Error(
      'usage: --scenario latency|throughput|limits [--events N] [--rate N] [--locations N] [--chats N] [--concurrency N] [--burst N]',
    );
  }
  const options: Options = { scenario, ...DEFAULTS[scenario] };
  for (let i = 0; i < argv.length; i++) {
    if (i === scenarioIndex || i === scenarioIndex + 1) continue;
    const match = /^--(events|rate|locations|chats|concurrency|burst)$/.exec(argv[i] ?? '');
    const value = Number(argv[i + 1]);
    if (!match || !Number.isInteger(value) || value < 1)
      throw new Error(`bad argument ${argv[i]} ${argv[i + 1]}`);
    options[match[1] as Exclude<keyof Options, 'scenario'>] = value;
    i++;
  }
  return options;
}

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const fmt = (n: number, digits = 1) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '-';

/** A built app as a child process; resolves once `readyUrl` answers 200. */
async function startProcess(
  name: string,
  entry: string,
  env: Record<string, string>,
  readyUrl: string,
  nodeArgs: string[] = [],
): Promise<ChildProcess> {
  // BENCH_LOG_DIR keeps each process's output (e.g. with BENCH_SYNC_LOG_LEVEL=warn).
  const logFile = process.env.BENCH_LOG_DIR
    ? resolve(process.env.BENCH_LOG_DIR, `${name.replace(/\W+/g, '-')}.log`)
    : undefined;
  const child = spawn(process.execPath, [...nodeArgs, resolve(__dirname, '../..', entry)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) {
      createInterface({ input: stream }).on('line', (line) => {
        tail.push(line);
        if (tail.length > 50) tail.shift();
        if (logFile) appendFileSync(logFile, `${line}\n`);
      });
    }
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited (${child.exitCode}) before it was ready:\n${tail.join('\n')}`);
    const ready = await fetch(readyUrl).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return child;
    if (Date.now() > deadline) throw new Error(`${name} not ready within 60 s:\n${tail.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Mean handler time, mean GHL call time and limiter waits, from the sync's own /metrics. */
async function syncDiagnostics(port: number): Promise<string> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const sum = (name: string, filter = '') =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name) && l.includes(filter))
      .reduce((total, l) => total + Number(l.split(' ').pop()), 0);
  const handlerMs =
    (sum('bus_handler_duration_seconds_sum', 'sync-messages') /
      sum('bus_handler_duration_seconds_count', 'sync-messages')) *
    1000;
  const ghlMs = (sum('ghl_request_duration_seconds_sum') / sum('ghl_request_duration_seconds_count')) * 1000;
  const waits = ['window', 'blocked', 'daily', 'ghl_429', 'late_use']
    .map((reason) => [reason, sum('ghl_limiter_waits_total', `reason="${reason}"`)] as const)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return `handler ${fmt(handlerMs)} ms mean, GHL call ${fmt(ghlMs)} ms mean, limiter waits (${waits || 'none'}), naks ${sum('bus_messages_handled_total', 'outcome="nak"')}`;
}

interface Chat {
  locationId: string;
  phone: string;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const limited = options.scenario !== 'throughput';
  const logger = pino({ level: 'warn' });

  // ---- infrastructure ----
  const nats = await startNatsServer();
  const db = await createTestDatabase('sync_bench_test');
  const dataSource = createDataSource(db.url);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  const sandboxPort = await freePort();
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const sandbox = await startProcess(
    'GHL sandbox',
    'apps/ghl-sandbox/src/main.js',
    {
      PORT: String(sandboxPort),
      LOG_LEVEL: 'silent',
      // GHL's limits when the limiter is measured; none when the sync's own speed is.
      RATE_LIMIT_MAX: limited ? '100' : '100000000',
      RATE_LIMIT_INTERVAL_MS: '10000',
      RATE_LIMIT_DAILY: limited ? '200000' : '100000000',
    },
    `${sandboxUrl}/health/ready`,
    (process.env.SANDBOX_NODE_ARGS ?? '').split(' ').filter(Boolean),
  );
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${sandboxUrl}${path}`, {
      method,
      headers: { authorization: 'Bearer sandbox-admin-token', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const provider = await admin<{ id: string }>('POST', '/admin/providers', {
    deliveryUrl: 'http://127.0.0.1:9/provider',
  });

  // ---- locations with tokens (stored encrypted, as the code exchange would) ----
  const sql = new Sql(dataSource);
  const tokens = new TokenRepository(
    sql,
    SecretBox.fromBase64(parseEnv(syncConfigSchema, {}).ENCRYPTION_KEY),
  );
  const installations = new InstallationRepository(sql);
  const runId = Date.now().toString(36);
  const chats: Chat[] = [];
  for (let l = 0; l < options.locations; l++) {
    const locationId = `bench${runId}l${l}`;
    await admin('POST', '/admin/locations', { id: locationId });
    const pair = await admin<Record<string, string>>('POST', '/admin/tokens', { locationId });
    await tokens.write('location', locationId, {
      accessToken: pair.access_token,
      refreshToken: pair.refresh_token,
      expiresAt: new Date(Date.now() + 86_000_000),
      scopes: pair.scope,
      userType: 'Location',
      kind: 'oauth',
    });
    await installations.markInstalled(locationId, { companyId: null, installType: 'Location' });
    for (let c = 0; c < options.chats; c++) {
      chats.push({ locationId, phone: `+1555${String(l).padStart(4, '0')}${String(c).padStart(4, '0')}` });
    }
  }
  const locations = [...new Set(chats.map((c) => c.locationId))];

  /** Receipt times (sandbox clock, epoch ms) of inbound messages, by altId. */
  const receiptTimes = async (): Promise<Map<string, number>> => {
    const received = new Map<string, number>();
    for (const locationId of locations) {
      const messages = await admin<{ altId?: string; dateUpdated: string }[]>(
        'GET',
        `/admin/messages?locationId=${locationId}&direction=inbound`,
      );
      for (const m of messages) if (m.altId) received.set(m.altId, Date.parse(m.dateUpdated));
    }
    return received;
  };

  const connection = await MessagingConnection.connect({ servers: nats.url, name: 'sync-bench', logger });
  await new StreamProvisioner(connection, logger).ensureStreams();
  const bus = new EventBus(connection, logger);

  const httpPort = await freePort();
  // SYNC_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, profiles the sync under load.
  const sync = await startProcess(
    'sync',
    'apps/sync/src/main.js',
    {
      NODE_ENV: 'test',
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      HTTP_PORT: String(httpPort),
      GHL_API_BASE_URL: sandboxUrl,
      GHL_CONVERSATION_PROVIDER_ID: provider.id,
      GHL_RATE_LIMIT_ENABLED: String(limited),
      SYNC_CONCURRENCY: String(options.concurrency),
      // Every rate-limit wait is a nak logged at warn by the bus library; keep stdout quiet.
      LOG_LEVEL: process.env.BENCH_SYNC_LOG_LEVEL ?? 'error',
    },
    `http://127.0.0.1:${httpPort}/health/ready`,
    (process.env.SYNC_NODE_ARGS ?? '').split(' ').filter(Boolean),
  );

  let seq = 0;
  const published = new Map<string, number>();
  const publish = async (chat: Chat, text: string): Promise<string> => {
    seq += 1;
    const waMessageId = `BENCH${runId}${seq}`;
    const digits = chat.phone.slice(1);
    const payload: EventPayload<'message.inbound'> = {
      waMessageId,
      chatJid: `${digits}@s.whatsapp.net`,
      from: {
        phone: chat.phone,
        jid: `${digits}@s.whatsapp.net`,
        lid: null,
        pushName: `Chat ${digits.slice(-4)}`,
      },
      sentAt: new Date().toISOString(),
      content: { kind: 'text', text },
    };
    published.set(waMessageId, Date.now());
    // A publish that timed out on a busy machine is retried with the same id (stored once).
    for (let attempt = 1; ; attempt++) {
      try {
        await bus.publish('message.inbound', chat.locationId, payload, { id: `bench-${waMessageId}` });
        return waMessageId;
      } catch (err) {
        if (!(err instanceof BusUnavailableError) || attempt >= 5) throw err;
      }
    }
  };
  let inboundBefore = 0;
  /** Waits until the sandbox holds `expected` more inbound messages than before this phase. */
  const waitForInbound = async (expected: number, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { messages } = await admin<{ messages: { inbound: number } }>('GET', '/admin/counts');
      if (messages.inbound - inboundBefore >= expected) {
        inboundBefore = messages.inbound;
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${expected - (messages.inbound - inboundBefore)} of ${expected} messages did not reach the sandbox within ${timeoutMs} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  // ---- warm-up: every chat's contact and conversation exist, as in a running deployment ----
  const warmStarted = performance.now();
  const warmIds: string[] = [];
  for (let i = 0; i < chats.length; i += 50) {
    warmIds.push(...(await Promise.all(chats.slice(i, i + 50).map((chat) => publish(chat, 'warm-up')))));
  }
  await waitForInbound(warmIds.length, 180_000);
  const warmSeconds = (performance.now() - warmStarted) / 1000;
  if (limited) {
    // Let the warm-up's requests leave GHL's window before the measured part.
    await new Promise((r) => setTimeout(r, 11_000));
  }
  const requestsAfterSeq = (await admin<{ seq: number }[]>('GET', '/admin/requests')).reduce(
    (max, r) => Math.max(max, r.seq),
    0,
  );

  const rows: [string, string][] = [];
  const cpu = cpus();
  rows.push([
    'machine',
    `${cpu.length} cores (${cpu[0]?.model.trim() ?? '?'}), ${fmt(totalmem() / 2 ** 30, 0)} GiB`,
  ]);
  rows.push([
    'sync',
    `1 process (built app), SYNC_CONCURRENCY=${options.concurrency}, limiter ${limited ? 'on' : 'off'}`,
  ]);
  rows.push([
    'setup',
    `${options.locations} locations × ${options.chats} chats, warm-up ${fmt(warmSeconds)} s`,
  ]);

  try {
    switch (options.scenario) {
      case 'latency': {
        const ids: string[] = [];
        const started = performance.now();
        const startedAt = Date.now();
        const interval = 1000 / options.rate;
        const sends: Promise<unknown>[] = [];
        for (let i = 0; i < options.events; i++) {
          const due = started + i * interval;
          const wait = due - performance.now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
          sends.push(publish(chats[i % chats.length], `latency ${i}`).then((id) => ids.push(id)));
        }
        await Promise.all(sends);
        await waitForInbound(ids.length, 120_000);
        const received = await receiptTimes();
        const latencies = ids.map((id) => received.get(id)! - published.get(id)!).sort((a, b) => a - b);
        const seconds = (Math.max(...ids.map((id) => received.get(id)!)) - startedAt) / 1000;
        rows.push(['events', `${ids.length} at ${options.rate}/s (achieved ${fmt(ids.length / seconds)}/s)`]);
        rows.push(['latency p50', `${fmt(quantile(latencies, 0.5))} ms  (target ≤ 20 ms)`]);
        rows.push(['latency p99', `${fmt(quantile(latencies, 0.99))} ms  (target ≤ 100 ms)`]);
        rows.push(['latency max', `${fmt(latencies[latencies.length - 1])} ms`]);
        break;
      }
      case 'throughput': {
        const ids: string[] = [];
        const started = performance.now();
        const startedAt = Date.now();
        let next = 0;
        // A bounded number of publishes in flight, so the bus, not the publisher, sets the pace.
        await Promise.all(
          Array.from({ length: 256 }, async () => {
            while (next < options.events) {
              const i = next++;
              ids.push(await publish(chats[i % chats.length], `throughput ${i}`));
            }
          }),
        );
        const publishedSeconds = (performance.now() - started) / 1000;
        await waitForInbound(ids.length, 300_000);
        const received = await receiptTimes();
        const last = Math.max(...ids.map((id) => received.get(id)!));
        const seconds = (last - startedAt) / 1000;
        const latencies = ids.map((id) => received.get(id)! - published.get(id)!).sort((a, b) => a - b);
        rows.push([
          'events',
          `${ids.length} over ${options.locations} locations, published in ${fmt(publishedSeconds)} s`,
        ]);
        rows.push(['throughput', `${fmt(ids.length / seconds, 0)} events/s end to end  (target ≥ 1,000)`]);
        rows.push([
          'latency p50 / p99',
          `${fmt(quantile(latencies, 0.5))} / ${fmt(quantile(latencies, 0.99))} ms (under full load)`,
        ]);
        break;
      }
      case 'limits': {
        const ids: string[] = [];
        const startedAt = Date.now();
        const perLocation = new Map<string, Chat[]>();
        for (const chat of chats)
          perLocation.set(chat.locationId, [...(perLocation.get(chat.locationId) ?? []), chat]);
        const burst: Chat[] = [];
        for (const [, locationChats] of perLocation) {
          for (let i = 0; i < options.burst; i++) burst.push(locationChats[i % locationChats.length]);
        }
        let next = 0;
        // All at once, with a bounded number of publishes in flight (the bus acknowledges each).
        await Promise.all(
          Array.from({ length: 256 }, async () => {
            while (next < burst.length) {
              const i = next++;
              ids.push(await publish(burst[i], `burst ${i}`));
            }
          }),
        );
        await waitForInbound(ids.length, 600_000);
        const received = await receiptTimes();
        const seconds = (Math.max(...ids.map((id) => received.get(id)!)) - startedAt) / 1000;
        const measured: { at: number; status: number; locationId?: string }[] = [];
        for (const locationId of locations) {
          const recorded = await admin<{ at: string; status: number; locationId?: string }[]>(
            'GET',
            `/admin/requests?locationId=${locationId}&afterSeq=${requestsAfterSeq}`,
          );
          measured.push(...recorded.map((r) => ({ ...r, at: Date.parse(r.at) })));
        }
        const tooMany = measured.filter((r) => r.status === 429).length;
        // Share of the allowed rate used: per location, GHL allows `max` per `intervalMs`. Count the calls
        // in each 10 s period from the location's first call while it still had messages waiting (every
        // period that ends before its last call), and compare with `max`.
        const max = 100;
        const intervalMs = 10_000;
        const usage: number[] = [];
        let worstWindow = 0;
        const drain: number[] = [];
        for (const [locationId] of perLocation) {
          const times = measured
            .filter((r) => r.locationId === locationId && r.status < 300)
            .map((r) => r.at)
            .sort((a, b) => a - b);
          for (let i = 0, j = 0; i < times.length; i++) {
            while (times[i] - times[j] >= intervalMs) j++;
            worstWindow = Math.max(worstWindow, i - j + 1);
          }
          const first = times[0];
          const last = times[times.length - 1];
          drain.push((last - first) / 1000);
          for (let start = first; start + intervalMs <= last; start += intervalMs) {
            usage.push(times.filter((t) => t >= start && t < start + intervalMs).length / max);
          }
        }
        usage.sort((a, b) => a - b);
        if (process.env.BENCH_VERBOSE) {
          const [firstLocation] = perLocation.keys();
          const times = measured
            .filter((r) => r.locationId === firstLocation)
            .map((r) => (r.at - startedAt) / 1000);
          const perSecond = new Map<number, number>();
          for (const t of times) perSecond.set(Math.floor(t), (perSecond.get(Math.floor(t)) ?? 0) + 1);
          console.error(
            `calls per second for ${firstLocation}:`,
            [...perSecond].sort((a, b) => a[0] - b[0]),
          );
        }
        const dead = await (
          await connection.jsm()
        ).streams
          .info(STREAMS.deadLetters)
          .then((i) => i.state.messages);
        rows.push([
          'burst',
          `${options.burst} messages × ${options.locations} locations (3× the allowed 100 / 10 s)`,
        ]);
        rows.push([
          'delivered',
          `${ids.filter((id) => received.has(id)).length} of ${ids.length} in ${fmt(seconds)} s, dead letters ${dead}`,
        ]);
        rows.push(['429 answers', `${tooMany}  (target 0)`]);
        rows.push([
          'GHL calls',
          `${measured.length}; busiest 10 s window of a location: ${worstWindow} (limit ${max})`,
        ]);
        drain.sort((a, b) => a - b);
        rows.push([
          'allowed rate used',
          `median ${fmt(quantile(usage, 0.5) * 100)} %, worst ${fmt(usage[0] * 100)} % of ${usage.length} location-periods of 10 s  (target ≥ 90 %)`,
        ]);
        rows.push([
          'drain time',
          `median ${fmt(quantile(drain, 0.5))} s, worst ${fmt(drain[drain.length - 1])} s per location (ideal ${fmt(((options.burst / max - 1) * intervalMs * 1.04) / 1000)} s)`,
        ]);
        break;
      }
    }
    rows.push(['inside the sync', await syncDiagnostics(httpPort)]);
  } finally {
    await stopProcess(sync);
    await connection.drain(2_000);
    await stopProcess(sandbox);
    await dataSource.destroy();
    await nats.stop();
    await db.drop();
  }

  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nsync benchmark: ${options.scenario}`);
  for (const [key, value] of rows) console.log(`  ${key.padEnd(width)}  ${value}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
