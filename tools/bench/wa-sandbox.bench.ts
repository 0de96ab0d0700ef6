/**
 * Load run of the WhatsApp sandbox with real Baileys: pairs N sessions spread over W driver processes
 * with a ramp, exchanges one text each way per session, then drops every connection at once and
 * measures the reconnect storm.
 *
 *   npm run bench:wa-sandbox -- --sessions 300 [--workers 4] [--ramp-ms 400] [--concurrency 20] [--profile 1]
 *                                  [--fixture DIR]
 *
 * Prints pairings/s, p50/p95 time from `connect` to `open` (QR, scan, pair-success, 515, login, prekey
 * upload, history sync), CPU-seconds per pairing (driver processes + sandbox), the sandbox's RSS, and
 * how long the storm took until every session was open again.
 *
 * A pairing costs about 0.4 CPU-seconds (mostly Baileys generating and uploading 812 prekeys), so a
 * 2-core machine sustains roughly 2.5-4 pairings/s; a faster ramp only builds a backlog (and, past
 * Baileys' 35 s keep-alive window, 408s), which is why the default ramp is 400 ms.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import {
  BaileysDriver,
  eventually,
  SandboxProcess,
  type DriverEvent,
  type DriverStats,
  type SandboxSnapshot,
  type SandboxStats,
} from '@app/wa-sandbox-client';

interface Options {
  sessions: number;
  workers: number;
  rampMs: number;
  concurrency: number;
  /** 1: write a CPU profile of the sandbox to artifacts/wa-sandbox-profile/. */
  profile: number;
  /**
   * A directory for a fixture: without `snapshot.json` in it, the run pairs as usual and leaves the
   * sandbox snapshot and every session's auth file there; with it, the run restores them and the
   * sessions log in without pairing.
   */
  fixture?: string;
}

interface SessionState {
  name: string;
  phone: string;
  driver: BaileysDriver;
  qrMs?: number;
  pairedMs?: number;
  openMs?: number;
  failure?: string;
  opens: number;
  connected: boolean;
  lastOpenAt?: number;
  pingReceived?: boolean;
}

const CONTACT = '15579999999';

function parseArgs(argv: string[]): Options {
  const options: Options = { sessions: 100, workers: 4, rampMs: 400, concurrency: 20, profile: 0 };
  const names: Record<string, Exclude<keyof Options, 'fixture'>> = {
    sessions: 'sessions',
    workers: 'workers',
    'ramp-ms': 'rampMs',
    concurrency: 'concurrency',
    profile: 'profile',
  };
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i] ?? '');
    if (match?.[1] === 'fixture') {
      options.fixture = match[2] ?? argv[++i];
      if (!options.fixture) throw new Error('--fixture needs a directory');
      continue;
    }
    const key = match ? names[match[1]] : undefined;
    if (!match || !key) throw new Error(`unknown argument ${argv[i]}`);
    const value = Number(match[2] ?? argv[++i]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${match[1]} needs a whole number`);
    options[key] = value;
  }
  if (options.sessions < 1 || options.workers < 1 || options.concurrency < 1) {
    throw new Error('--sessions, --workers and --concurrency must be at least 1');
  }
  if (options.sessions > 9_999_999) throw new Error('--sessions is too large');
  return options;
}

function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const cpuOf = (s: DriverStats) => s.cpuUserSeconds + s.cpuSystemSeconds;
const sandboxCpu = (s: SandboxStats) => s.process.cpuUserSeconds + s.process.cpuSystemSeconds;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `task(i)` for i in [0, n) with at most `limit` running. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

async function clientCpu(drivers: BaileysDriver[]): Promise<{ cpu: number; rss: number[] }> {
  const stats = await Promise.all(drivers.map((d) => d.stats()));
  return { cpu: stats.reduce((sum, s) => sum + cpuOf(s), 0), rss: stats.map((s) => s.rssBytes) };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const cores = cpus().length;
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `wa-sandbox bench: ${options.sessions} sessions over ${options.workers} driver processes, ramp ${options.rampMs} ms, ` +
      `${cores} cores, load average ${load} at start`,
  );

  const sandbox = await SandboxProcess.start({
    env: { LOG_LEVEL: 'warn' },
    nodeArgs: options.profile ? ['--cpu-prof', '--cpu-prof-dir=artifacts/wa-sandbox-profile'] : [],
  });
  const fixtureSnapshot = options.fixture ? join(options.fixture, 'snapshot.json') : undefined;
  const fromFixture = fixtureSnapshot !== undefined && existsSync(fixtureSnapshot);
  let rootPublicKey = sandbox.rootPublicKey;
  if (fromFixture) {
    const restored = await sandbox.admin.restore(
      JSON.parse(readFileSync(fixtureSnapshot, 'utf8')) as SandboxSnapshot,
    );
    rootPublicKey = restored.rootPublicKey;
    console.log(
      `fixture    restored ${restored.accounts} accounts, ${restored.devices} devices: logging in, not pairing`,
    );
  } else if (options.fixture) {
    mkdirSync(options.fixture, { recursive: true });
  }
  const drivers = await Promise.all(
    Array.from({ length: options.workers }, () => BaileysDriver.start({ rootPublicKey })),
  );
  const sessions: SessionState[] = Array.from({ length: options.sessions }, (_, i) => ({
    name: `s${i}`,
    phone: String(15560000000 + i),
    driver: drivers[i % drivers.length],
    opens: 0,
    connected: false,
  }));
  const byName = new Map(sessions.map((s) => [s.name, s]));
  /** Closes other than the 515 after pairing and the storm's 428s, by status code. */
  const unexpectedCloses = new Map<string, number>();
  let storming = false;
  const driverWarnings: string[] = [];
  const onEvent = (event: DriverEvent) => {
    if (event.type === 'log') driverWarnings.push(event.message);
    if (
      event.type !== 'connection' &&
      event.type !== 'message' &&
      event.type !== 'qr' &&
      event.type !== 'paired'
    )
      return;
    const state = byName.get(event.session);
    if (!state) return;
    if (event.type === 'qr') {
      state.qrMs ??= event.sinceStartMs;
      return;
    }
    if (event.type === 'paired') {
      state.pairedMs ??= event.sinceStartMs;
      return;
    }
    if (event.type === 'message') {
      if (event.text === `ping ${state.name}`) state.pingReceived = true;
      return;
    }
    state.connected = event.connection === 'open';
    if (event.connection === 'open') {
      state.opens++;
      state.lastOpenAt = event.t;
      state.openMs ??= event.sinceStartMs;
    } else if (
      event.connection === 'close' &&
      event.statusCode !== 515 &&
      !(storming && event.statusCode === 428)
    ) {
      const reason = `${event.statusCode ?? '?'} ${event.error ?? ''}`.trim();
      unexpectedCloses.set(reason, (unexpectedCloses.get(reason) ?? 0) + 1);
      if (state.openMs === undefined) state.failure = reason;
    }
  };
  const stopAll = async () => {
    await Promise.all(drivers.map((d) => d.stop()));
    await sandbox.stop();
  };
  // Ctrl-C or a timeout: stop the driver processes and the sandbox rather than orphan them.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(`${signal}: stopping`);
      void stopAll().finally(() => process.exit(130));
    });
  }
  for (const d of drivers) d.onEvent(onEvent);
  const benchStart = Date.now();
  const progress = setInterval(() => {
    void Promise.all([sandbox.admin.stats(), Promise.all(drivers.map((d) => d.stats()))])
      .then(([st, ds]) => {
        const closes = [...unexpectedCloses].map(([r, n]) => `${n}× ${r}`).join(', ') || 'none';
        const lag = st.process.eventLoopDelay;
        console.log(
          `  +${seconds(Date.now() - benchStart)} s: ${sessions.filter((x) => x.openMs !== undefined).length} opened, ` +
            `${st.connections.loggedIn} logged in on the sandbox; loop delay max sandbox ${lag.maxMs} ms, ` +
            `drivers ${ds.map((d) => d.eventLoopDelay.maxMs).join('/')} ms; unexpected closes: ${closes}`,
        );
      })
      .catch((error: Error) =>
        console.log(`  +${seconds(Date.now() - benchStart)} s: stats unavailable (${error.message})`),
      );
  }, 30_000);

  try {
    // ---------------------------------------------------------------- pairing
    const sandbox0 = await sandbox.admin.stats();
    const client0 = await clientCpu(drivers);
    const pairStart = Date.now();
    for (let i = 0; i < sessions.length; i++) {
      const s = sessions[i];
      const due = pairStart + i * options.rampMs;
      if (due > Date.now()) await sleep(due - Date.now());
      void s.driver
        .connect(s.name, {
          url: sandbox.wsUrl,
          ...(options.fixture ? { authFile: join(options.fixture, `${s.name}.json`) } : {}),
          qrTimeoutMs: 60_000,
          connectTimeoutMs: 60_000,
          defaultQueryTimeoutMs: 120_000,
          // 515 after pairing, and 428 for the storm below: what the bridge's workers do.
          reconnectOn: [515, 428],
          ...(fromFixture
            ? {}
            : {
                autoScan: {
                  adminUrl: sandbox.adminUrl,
                  token: sandbox.token,
                  phone: s.phone,
                  name: `Load ${i}`,
                },
              }),
        })
        .catch((error: Error) => (s.failure = error.message));
    }
    const pairingTimeout = 120_000 + options.sessions * 1_000;
    await eventually(() => (sessions.every((s) => s.openMs !== undefined || s.failure) ? true : undefined), {
      timeoutMs: pairingTimeout,
      intervalMs: 200,
      what: 'every session open or failed',
    }).catch((error: Error) => console.log(`pairing: ${error.message}`));
    const everOpened = sessions.filter((s) => s.openMs !== undefined);
    // Sessions that opened but dropped since (e.g. 408) are reported, not used further.
    const opened = everOpened.filter((s) => s.connected);
    const pairEnd = Math.max(...everOpened.map((s) => s.lastOpenAt ?? pairStart), pairStart);
    const sandbox1 = await sandbox.admin.stats();
    const client1 = await clientCpu(drivers);
    const pairWall = pairEnd - pairStart;
    const clientPairCpu = client1.cpu - client0.cpu;
    const sandboxPairCpu = sandboxCpu(sandbox1) - sandboxCpu(sandbox0);
    const openTimes = everOpened.map((s) => s.openMs ?? 0);
    const qrTimes = everOpened.map((s) => s.qrMs ?? 0);
    const scanTimes = everOpened.map((s) => (s.pairedMs ?? 0) - (s.qrMs ?? 0));
    const loginTimes = everOpened.map((s) => (s.openMs ?? 0) - (s.pairedMs ?? 0));
    const failures = sessions.filter((s) => s.openMs === undefined);
    for (const s of failures)
      s.failure ??= `never opened (${s.qrMs === undefined ? 'no QR' : s.pairedMs === undefined ? 'QR, not paired' : 'paired, no open'})`;

    // ---------------------------------------------------------------- one text each way
    const messageStart = Date.now();
    const out0 = sandbox1.messages.out;
    await pool(opened.length, options.concurrency, async (i) => {
      const s = opened[i];
      await sandbox.admin.sendText({ from: CONTACT, to: s.phone, text: `ping ${s.name}`, pushName: 'Bench' });
      await eventually(() => (s.pingReceived ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 20,
      }).catch(() => undefined);
      await s.driver.sendText(s.name, CONTACT, `pong ${s.name}`).catch(() => undefined);
    });
    const outgoing = await eventually(
      async () => {
        const n = (await sandbox.admin.stats()).messages.out - out0;
        return n >= opened.length ? n : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'every pong in the outbox' },
    ).catch(async () => (await sandbox.admin.stats()).messages.out - out0);
    const messageWall = Date.now() - messageStart;
    const inbound = opened.filter((s) => s.pingReceived).length;

    // ---------------------------------------------------------------- reconnect storm
    const sandbox2 = await sandbox.admin.stats();
    const client2 = await clientCpu(drivers);
    const opensBefore = new Map(opened.map((s) => [s.name, s.opens]));
    storming = true;
    const stormStart = Date.now();
    const dropped = await sandbox.admin.injectFault({ kind: 'drop', percent: 100 });
    await eventually(
      () => (opened.every((s) => s.opens > (opensBefore.get(s.name) ?? 0)) ? true : undefined),
      {
        timeoutMs: 120_000 + options.sessions * 200,
        intervalMs: 50,
        what: 'every session open again',
      },
    ).catch((error: Error) => console.log(`storm: ${error.message}`));
    const reopened = opened.filter((s) => s.opens > (opensBefore.get(s.name) ?? 0));
    const reconnectTimes = reopened.map((s) => (s.lastOpenAt ?? stormStart) - stormStart);
    const stormWall = reconnectTimes.length ? Math.max(...reconnectTimes) : NaN;
    const sandbox3 = await sandbox.admin.stats();
    const client3 = await clientCpu(drivers);

    // ---------------------------------------------------------------- report
    const paired = everOpened.length;
    const perPairing = (clientPairCpu + sandboxPairCpu) / Math.max(paired, 1);
    const lines = [
      `${fromFixture ? 'login  ' : 'pairing'}    ${paired}/${options.sessions} opened in ${seconds(pairWall)} s = ${(paired / (pairWall / 1000)).toFixed(2)} ${fromFixture ? 'logins' : 'pairings'}/s (${opened.length} still open after the phase)` +
        ` | connect→open p50 ${percentile(openTimes, 50)} ms, p95 ${percentile(openTimes, 95)} ms`,
      ...(fromFixture
        ? []
        : [
            `           of which connect→QR p50 ${percentile(qrTimes, 50)} ms, QR→paired ${percentile(scanTimes, 50)} ms,` +
              ` paired→open (515, login, prekeys, history) ${percentile(loginTimes, 50)} ms`,
          ]),
      `           CPU ${perPairing.toFixed(3)} s per ${fromFixture ? 'login' : 'pairing'} (drivers ${(clientPairCpu / Math.max(paired, 1)).toFixed(3)} s,` +
        ` sandbox ${(sandboxPairCpu / Math.max(paired, 1)).toFixed(3)} s)` +
        (failures.length
          ? ` | ${failures.length} failed: ${[...new Set(failures.map((f) => f.failure))].slice(0, 3).join('; ')}`
          : ''),
      `messaging  ${inbound}/${opened.length} texts in, ${outgoing}/${opened.length} out, in ${seconds(messageWall)} s`,
      `reconnect  storm after dropping ${dropped.affected.length} connections: ${reopened.length}/${opened.length} open again in ` +
        `${seconds(stormWall)} s (p50 ${percentile(reconnectTimes, 50)} ms, p95 ${percentile(reconnectTimes, 95)} ms), ` +
        `CPU drivers ${(client3.cpu - client2.cpu).toFixed(1)} s, sandbox ${(sandboxCpu(sandbox3) - sandboxCpu(sandbox2)).toFixed(1)} s, ` +
        `${sandbox3.doubleConnections} double connections`,
      `sandbox    RSS ${mb(sandbox1.process.rssBytes)} MB after pairing, ${mb(sandbox3.process.rssBytes)} MB at the end; ` +
        `${sandbox3.accounts} accounts, ${sandbox3.devices} devices, ${sandbox3.logins} logins; CPU ${sandboxCpu(sandbox3).toFixed(1)} s total`,
      `drivers    RSS ${client3.rss.map(mb).join(' + ')} MB; CPU ${client3.cpu.toFixed(1)} s total`,
      `closes     unexpected: ${[...unexpectedCloses].map(([r, n]) => `${n}× ${r}`).join(', ') || 'none'}` +
        (driverWarnings.length
          ? `; driver warnings (${driverWarnings.length}): ${driverWarnings.slice(0, 3).join(' | ')}`
          : ''),
    ];
    console.log(lines.join('\n'));
    console.log(
      JSON.stringify({
        sessions: options.sessions,
        workers: options.workers,
        rampMs: options.rampMs,
        cores,
        paired,
        openAfterPairing: opened.length,
        pairingSeconds: pairWall / 1000,
        pairingsPerSecond: paired / (pairWall / 1000),
        openP50Ms: percentile(openTimes, 50),
        openP95Ms: percentile(openTimes, 95),
        cpuSecondsPerPairing: perPairing,
        driverCpuSecondsPerPairing: clientPairCpu / Math.max(paired, 1),
        sandboxCpuSecondsPerPairing: sandboxPairCpu / Math.max(paired, 1),
        failed: failures.length,
        inbound,
        outbound: outgoing,
        messagingSeconds: messageWall / 1000,
        stormReopened: reopened.length,
        stormSeconds: stormWall / 1000,
        stormP50Ms: percentile(reconnectTimes, 50),
        stormP95Ms: percentile(reconnectTimes, 95),
        doubleConnections: sandbox3.doubleConnections,
        sandboxRssMb: mb(sandbox3.process.rssBytes),
        sandboxRssAfterPairingMb: mb(sandbox1.process.rssBytes),
      }),
    );
    if (opened.length < options.sessions || reopened.length < opened.length) process.exitCode = 1;
    if (options.fixture && !fromFixture) {
      // Taken at the end, when the drivers are about to write their auth files: both sides agree.
      writeFileSync(join(options.fixture, 'snapshot.json'), JSON.stringify(await sandbox.admin.snapshot()));
      console.log(`fixture    saved to ${options.fixture}`);
    }
  } finally {
    clearInterval(progress);
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
