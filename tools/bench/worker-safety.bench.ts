/**
 * Ownership safety under churn: many sessions over a few worker processes, then random `kill -9`s,
 * SIGTERMs and restarts, and at the end every session must be open again on exactly one socket.
 *
 *   npm run build && node dist/tools/bench/worker-safety.bench.js [--workers 3] [--sessions 50] [--events 30]
 *     [--min-gap-ms 1000] [--max-gap-ms 4000] [--seed 1] [--lease-ttl-ms 12000] [--lease-renew-ms 3000]
 *     [--placement-interval-ms 2000] [--settle-timeout-ms 120000] [--log-file worker-logs.jsonl]
 *
 * 1. Starts `--workers` workers (the worker's own production defaults unless overridden) and links
 *    `--sessions` sessions, scanning each QR through the sandbox as it appears. Scanning then stops.
 * 2. Runs `--events` stops of a random worker — `kill -9` or SIGTERM, half and half — with a random
 *    pause of `--min-gap-ms`..`--max-gap-ms` after each action, and restarts of workers in between
 *    (a new worker is started whenever fewer than `--workers` run: always when only one is left,
 *    otherwise by a coin toss). At least one worker always stays up; stops do not wait for the sessions
 *    to come back, so failovers overlap. `--seed` replays the same sequence.
 * 3. Brings the cluster back to `--workers` workers and waits (up to `--settle-timeout-ms`) for every
 *    session to be open in the projection, leased by a running worker, and connected exactly once in
 *    the sandbox.
 *
 * Safety figures, each of which must be 0 (or all): double connections (the sandbox counts a login
 * that arrives while another connection of the same device is open), self-inflicted 440s (the sandbox
 * injects no fault in this run, so every `session.disconnected` with code 440 is the bridge's own
 * doing), sessions open at the end, QRs after the initial linking (a session that needs a rescan has
 * lost its credentials), SIGTERMed workers that did not exit 0. Exits 1 if any is off.
 *
 * `--log-file` keeps every line every worker printed (JSON lines), for a post-mortem.
 */
import type { EventEnvelope } from '@app/contracts';
import { productionWorkerEnv, WorkerCluster } from '@app/testing/worker-cluster';
import {
  benchSessions,
  cleanUpOnInterrupt,
  EventClock,
  linkAll,
  liveLeases,
  loadAverage,
  LogTap,
  machineLine,
  parseFlags,
  printTable,
  secs,
  seededRandom,
  sleep,
  summarize,
  summarizeProblems,
  verdict,
  waitUntil,
} from './worker-bench.support';

const production = productionWorkerEnv();
const DEFAULTS = {
  workers: 3,
  sessions: 50,
  events: 30,
  minGapMs: 1_000,
  maxGapMs: 4_000,
  seed: 1,
  leaseTtlMs: Number(production.LEASE_TTL_MS),
  leaseRenewMs: Number(production.LEASE_RENEW_MS),
  placementIntervalMs: Number(production.PLACEMENT_INTERVAL_MS),
  settleTimeoutMs: 120_000,
  logFile: '',
};
const USAGE =
  'usage: node dist/tools/bench/worker-safety.bench.js [--workers 3] [--sessions 50] [--events 30] ' +
  '[--min-gap-ms 1000] [--max-gap-ms 4000] [--seed 1] [--lease-ttl-ms 12000] [--lease-renew-ms 3000] ' +
  '[--placement-interval-ms 2000] [--settle-timeout-ms 120000] [--log-file worker-logs.jsonl]';

type Action = 'kill' | 'term' | 'start';

interface ChaosEvent {
  at: number;
  action: Action;
  worker: string;
  /** Sessions the stopped worker held a live lease on. */
  owned: string[];
}

async function main(): Promise<void> {
  const options = parseFlags(process.argv.slice(2), DEFAULTS, USAGE);
  if (options.workers < 2) throw new Error('--workers must be at least 2');
  if (options.maxGapMs < options.minGapMs) throw new Error('--max-gap-ms must be at least --min-gap-ms');
  const workerEnv = {
    ...production,
    LEASE_TTL_MS: String(options.leaseTtlMs),
    LEASE_RENEW_MS: String(options.leaseRenewMs),
    PLACEMENT_INTERVAL_MS: String(options.placementIntervalMs),
  };
  const random = seededRandom(options.seed);
  const started = Date.now();
  console.log('worker safety bench');
  console.log(machineLine());
  console.log(
    `settings: ${options.workers} workers, ${options.sessions} sessions, ${options.events} stops (kill -9 / SIGTERM), ` +
      `gaps ${options.minGapMs}-${options.maxGapMs} ms, seed ${options.seed}; worker env ` +
      Object.entries(workerEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
  );

  const cluster = await WorkerCluster.start({}, { workerEnv, databasePrefix: 'bench_safety_test' });
  cleanUpOnInterrupt(() => cluster.stop());
  const clock = new EventClock(cluster);
  const logs = new LogTap(
    cluster,
    (line) => line.level === 'warn' || line.level === 'error' || line.level === 'fatal',
    options.logFile || undefined,
  );
  const leaving = new Set<string>();
  const exits: { worker: string; action: Action; code: number | null; signal: string | null; ms: number }[] =
    [];
  const pendingExits: Promise<void>[] = [];
  let workerCount = 0;
  const startWorker = async () => {
    const id = `sw-${String(++workerCount).padStart(2, '0')}`;
    await cluster.startWorker(id);
    return id;
  };
  const running = () => [...cluster.workers.keys()].filter((id) => !leaving.has(id));
  let failed = true;

  try {
    await Promise.all(Array.from({ length: options.workers }, startWorker));
    const sessions = benchSessions('locSafe', 0, options.sessions, 15552000000);
    const link = await linkAll(cluster, sessions, { timeoutMs: 60_000 + options.sessions * 2_000 });
    if (link.missing.length > 0) {
      throw new Error(
        `linking failed: ${JSON.stringify(link.missing)} (last scan error: ${link.lastScanError})`,
      );
    }
    const linkedAt = Date.now();
    const qrsAtLink = cluster.events.filter((e) => e.type === 'session.qr').length;
    console.log(
      `linked ${link.ready} sessions in ${secs(link.lastReadyAt - link.startedAt, 1)} s ` +
        `(${link.scans} QR scans, ${link.failedScans} refused, ${link.startErrors} failed starts); QR scanning is off from here on`,
    );

    // ---------------------------------------------------------------- chaos
    const chaos: ChaosEvent[] = [];
    let stops = 0;
    while (stops < options.events) {
      const live = running();
      const canStop = live.length > 1;
      const action: Action =
        !canStop || (live.length < options.workers && random() < 0.5)
          ? 'start'
          : random() < 0.5
            ? 'kill'
            : 'term';
      const at = Date.now();
      if (action === 'start') {
        chaos.push({ at, action, worker: await startWorker(), owned: [] });
      } else {
        const victim = live[Math.floor(random() * live.length)];
        const worker = cluster.workers.get(victim);
        if (!worker) throw new Error(`worker ${victim} vanished`);
        const owned = [...(await liveLeases(cluster)).values()]
          .filter((lease) => lease.ownerId === victim)
          .map((lease) => lease.locationId);
        leaving.add(victim);
        const t0 = Date.now();
        worker.signal(action === 'kill' ? 'SIGKILL' : 'SIGTERM');
        const killLater = setTimeout(() => worker.signal('SIGKILL'), 30_000);
        const exited = worker.exited.then((exit) => {
          clearTimeout(killLater);
          logs.poll();
          cluster.workers.delete(victim);
          leaving.delete(victim);
          exits.push({ worker: victim, action, code: exit.code, signal: exit.signal, ms: Date.now() - t0 });
        });
        pendingExits.push(exited);
        if (action === 'kill') await exited;
        chaos.push({ at: t0, action, worker: victim, owned });
        stops += 1;
      }
      const last = chaos[chaos.length - 1];
      console.log(
        `  t+${secs(last.at - linkedAt, 1).padStart(6)} s  ${last.action === 'kill' ? 'kill -9' : last.action === 'term' ? 'SIGTERM' : 'start  '} ` +
          `${last.worker}${last.action === 'start' ? '' : ` (${last.owned.length} sessions)`}; running: ${running().join(' ')}`,
      );
      await sleep(options.minGapMs + random() * (options.maxGapMs - options.minGapMs));
    }
    const chaosEnd = Date.now();

    // ---------------------------------------------------------------- recovery
    while (running().length < options.workers) await startWorker();
    await Promise.all(pendingExits);
    const phones = new Map(sessions.map((s) => [s.locationId, s.phone]));
    const check = async () => {
      const [rows, leases, stats] = await Promise.all([
        cluster.sessionRows(),
        liveLeases(cluster),
        cluster.sandbox.admin.stats({ detail: true }),
      ]);
      const openInSandbox = new Map((stats.perAccount ?? []).map((a) => [a.phone, a.open]));
      const live = new Set(running());
      const states = new Map<string, number>();
      let open = 0;
      let connectedOnce = 0;
      for (const s of sessions) {
        const row = rows.get(s.locationId);
        const lease = leases.get(s.locationId);
        const state = row?.state ?? 'missing';
        states.set(state, (states.get(state) ?? 0) + 1);
        if (state === 'open' && lease && live.has(lease.ownerId) && row?.owner_worker_id === lease.ownerId)
          open++;
        if (openInSandbox.get(phones.get(s.locationId) ?? '') === 1) connectedOnce++;
      }
      return { open, connectedOnce, states, stats };
    };
    let final = await check();
    await waitUntil(
      async () => {
        final = await check();
        return final.open === sessions.length && final.connectedOnce === sessions.length;
      },
      options.settleTimeoutMs,
      500,
    );
    const recoveredAt = Date.now();
    logs.close();

    // ---------------------------------------------------------------- figures
    const disconnects = cluster.events.filter(
      (e): e is EventEnvelope<'session.disconnected'> => e.type === 'session.disconnected',
    );
    const byCode = new Map<number, number>();
    for (const e of disconnects) byCode.set(e.payload.code, (byCode.get(e.payload.code) ?? 0) + 1);
    const conflicts = byCode.get(440) ?? 0;
    const qrsAfterLink = cluster.events.filter((e) => e.type === 'session.qr').length - qrsAtLink;
    const doubleConnections = final.stats.doubleConnections;
    const badExits = exits.filter((e) => e.action === 'term' && e.code !== 0);
    const reopen = (action: Action) =>
      chaos
        .filter((c) => c.action === action)
        .flatMap((c) =>
          c.owned.map((locationId) => {
            const ready = clock
              .since('session.ready', c.at, locationId)
              .find((e) => e.payload.workerId !== c.worker);
            return ready ? clock.at(ready) - c.at : NaN;
          }),
        );
    const killReopen = reopen('kill');
    const termReopen = reopen('term');

    console.log('');
    printTable(
      ['figure', 'value', 'must be', 'verdict'],
      [
        ['double connections (sandbox)', doubleConnections, 0, verdict(doubleConnections === 0)],
        ['self-inflicted 440s (session.disconnected code 440)', conflicts, 0, verdict(conflicts === 0)],
        [
          'sessions open at the end (projection + lease on a running worker)',
          `${final.open}/${sessions.length}`,
          'all',
          verdict(final.open === sessions.length),
        ],
        [
          'sessions connected exactly once at the end (sandbox)',
          `${final.connectedOnce}/${sessions.length}`,
          'all',
          verdict(final.connectedOnce === sessions.length),
        ],
        ['QRs after the initial linking', qrsAfterLink, 0, verdict(qrsAfterLink === 0)],
        ['SIGTERMed workers that did not exit 0', badExits.length, 0, verdict(badExits.length === 0)],
      ],
    );
    if (doubleConnections > 0) {
      // Which sessions, so the log file (`--log-file`) can be searched for what their owners did.
      const locationOf = new Map(sessions.map((s) => [s.phone, s.locationId]));
      const doubled = (final.stats.perAccount ?? [])
        .map((a) => ({ a, n: a.devices.reduce((sum, d) => sum + d.doubleConnections, 0) }))
        .filter(({ n }) => n > 0)
        .map(({ a, n }) => `${locationOf.get(a.phone) ?? a.phone} ×${n}`);
      console.log(`double-connected sessions: ${doubled.join(', ')}`);
    }
    const safe =
      doubleConnections === 0 &&
      conflicts === 0 &&
      final.open === sessions.length &&
      final.connectedOnce === sessions.length &&
      qrsAfterLink === 0 &&
      badExits.length === 0;

    console.log('');
    const count = (action: Action) => chaos.filter((c) => c.action === action).length;
    const k = summarize(killReopen.filter(Number.isFinite));
    const t = summarize(termReopen.filter(Number.isFinite));
    printTable(
      ['churn', 'events', 'sessions moved', 'reopened elsewhere p50', 'p95', 'max'],
      [
        ['kill -9', count('kill'), killReopen.length, secs(k.p50), secs(k.p95), secs(k.max)],
        ['SIGTERM', count('term'), termReopen.length, secs(t.p50), secs(t.p95), secs(t.max)],
        ['worker starts', count('start'), '', '', '', ''],
      ],
    );
    console.log(
      '(reopened = signal → first session.ready from another worker; a session stopped again before reopening counts from the first stop)',
    );
    console.log('');
    console.log(
      `disconnect events by code: ${[...byCode.entries()].map(([code, n]) => `${code}×${n}`).join(', ') || 'none'}; ` +
        `sandbox faults injected: ${Object.values(final.stats.faults).reduce((a, b) => a + b, 0)}; ` +
        `sandbox logins ${final.stats.logins}, login failures ${final.stats.loginFailures}`,
    );
    console.log(
      `session states at the end: ${[...final.states.entries()].map(([s, n]) => `${s} ${n}`).join(', ')}`,
    );
    if (badExits.length) console.log(`bad exits: ${JSON.stringify(badExits)}`);
    const problems = summarizeProblems(logs.lines);
    if (problems.length) {
      console.log('worker warnings and errors (count, level: message):');
      for (const line of problems.slice(0, 20)) console.log(`  ${line}`);
    }
    console.log(
      `durations: linking ${secs(link.lastReadyAt - link.startedAt, 1)} s, churn ${secs(chaosEnd - linkedAt, 1)} s, ` +
        `recovery after the last event ${secs(recoveredAt - chaosEnd, 1)} s, total ${secs(Date.now() - started, 0)} s; ` +
        `load average at the end ${loadAverage()}`,
    );
    console.log(
      `summary: ${sessions.length} sessions, ${options.workers} workers, ${count('kill')} kill -9 + ${count('term')} SIGTERM + ` +
        `${count('start')} starts → double connections ${doubleConnections}, 440s ${conflicts}, open at the end ` +
        `${final.open}/${sessions.length}, QRs after linking ${qrsAfterLink}: ${safe ? 'SAFE' : 'UNSAFE'}`,
    );
    console.log(
      JSON.stringify({
        bench: 'worker-safety',
        settings: options,
        doubleConnections,
        conflicts,
        openAtEnd: final.open,
        connectedOnceAtEnd: final.connectedOnce,
        sessions: sessions.length,
        qrsAfterLink,
        badExits: badExits.length,
        kills: count('kill'),
        terms: count('term'),
        starts: count('start'),
        killReopen: k,
        termReopen: t,
        disconnectsByCode: Object.fromEntries(byCode),
        recoveryMs: recoveredAt - chaosEnd,
        durationMs: Date.now() - started,
      }),
    );
    failed = !safe;
  } catch (error) {
    console.error(error);
  } finally {
    clock.close();
    logs.close();
    await cluster.stop();
  }
  process.exitCode = failed ? 1 : 0;
}

void main();
