/**
 * How fast a session moves to another worker process when its owner dies (`kill -9`) or is stopped
 * (SIGTERM hand-off, as in a rolling deploy), with production lease and placement timings.
 *
 *   npm run build && node dist/tools/bench/worker-failover.bench.js [--runs 20] [--sessions 5] [--workers 2]
 *     [--modes kill,term] [--lease-ttl-ms 12000] [--lease-renew-ms 3000] [--placement-interval-ms 2000] [--seed 1]
 *     [--log-file worker-logs.jsonl]
 *
 * Setup: a private nats-server, a throwaway database, the WhatsApp sandbox, `--workers` built worker
 * processes with the worker's own defaults (overridable by the flags above), and `--sessions` sessions
 * linked once (each QR scanned through the sandbox). Then `--runs` runs per mode, interleaved:
 *
 * - kill: `kill -9` the owner of one session (a different one each run) and start a replacement
 *   worker at once, as Kubernetes restarts a crashed container.
 * - term: first start an extra worker and let placement settle (a rolling deploy brings the new pod up
 *   before the old one gets SIGTERM), then SIGTERM the owner of one session.
 *
 * The signal comes after a random pause (up to LEASE_RENEW_MS for kill, PLACEMENT_INTERVAL_MS for
 * term; `--seed`): settling ends right after a placement round, so without it every run would hit
 * the same phase of the renewal and placement timers, and measure one point instead of the spread.
 *
 * A run's figure is the time from the signal to the `session.ready` event of that session from another
 * worker, as observed by this process (the bench's clock when the event arrived over NATS; the worker
 * stamps `occurredAt` a few ms earlier, just before publishing — both are shown). Every other session
 * the victim owned is measured too. Between runs the cluster settles: every session open on a live
 * worker, owners within placement's fair-share band, nothing moving for a placement interval.
 *
 * Why kill -9 cannot beat the lease TTL: a dead worker releases nothing, so its sessions become
 * claimable only when their leases expire. Each lease was last renewed at most LEASE_RENEW_MS before
 * the kill, so it expires between TTL − RENEW and TTL after it (9–12 s with the defaults); a survivor
 * wakes up right at that expiry (placement schedules a round for the next lease of another worker due
 * to lapse), claims it, then connects through its ramp and logs in (a few hundred ms against the
 * sandbox). Failover therefore lies in [TTL − RENEW, TTL] + claim + login, p95 ≈ TTL + 0.5 s. The
 * report shows the lease time left at the kill, so the part the worker controls (expiry → claim →
 * open) is visible on its own.
 *
 * Exits 1 if a run does not complete, or on a 440, a double connection or a QR after linking; target
 * verdicts are printed, not enforced.
 *
 * `--log-file` keeps every line every worker printed (JSON lines), for a post-mortem.
 */
import type { EventEnvelope } from '@app/contracts';
import type { AppProcess } from '@app/testing/app-process';
import { productionWorkerEnv, WorkerCluster } from '@app/testing/worker-cluster';
import {
  benchSessions,
  cleanUpOnInterrupt,
  EventClock,
  lineTime,
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
  runs: 20,
  sessions: 5,
  workers: 2,
  modes: 'kill,term',
  leaseTtlMs: Number(production.LEASE_TTL_MS),
  leaseRenewMs: Number(production.LEASE_RENEW_MS),
  placementIntervalMs: Number(production.PLACEMENT_INTERVAL_MS),
  seed: 1,
  logFile: '',
};
const USAGE =
  'usage: node dist/tools/bench/worker-failover.bench.js [--runs 20] [--sessions 5] [--workers 2] ' +
  '[--modes kill,term] [--lease-ttl-ms 12000] [--lease-renew-ms 3000] [--placement-interval-ms 2000] [--seed 1] [--log-file worker-logs.jsonl]';

const TARGET_P95_MS = { kill: 15_000, term: 3_000 } as const;
type Mode = keyof typeof TARGET_P95_MS;

interface Moved {
  locationId: string;
  newOwner: string;
  /** Signal → `session.ready` arrived here. */
  observedMs: number;
  /** Signal → the event's `occurredAt`. */
  occurredMs: number;
  /** Signal → the new owner logged `session claimed`. */
  claimMs: number;
  /** kill: lease time left at the kill (database clock). term: signal → the old owner released it. */
  leaseFreeMs: number;
}

interface Run {
  mode: Mode;
  index: number;
  target: string;
  victim: string;
  moved: Moved[];
  targetMs: number;
  allMs: number;
  exit: string;
  settleMs: number;
  qrs: number;
  conflicts: number;
  doubleConnections: number;
}

async function main(): Promise<void> {
  const options = parseFlags(process.argv.slice(2), DEFAULTS, USAGE);
  const modes = options.modes.split(',').map((m) => m.trim());
  for (const mode of modes) if (mode !== 'kill' && mode !== 'term') throw new Error(`unknown mode ${mode}`);
  if (options.workers < 2)
    throw new Error('--workers must be at least 2: a session needs another worker to move to');
  if (options.sessions < 1 || options.runs < 1) throw new Error('--sessions and --runs must be at least 1');

  const workerEnv = {
    ...production,
    LEASE_TTL_MS: String(options.leaseTtlMs),
    LEASE_RENEW_MS: String(options.leaseRenewMs),
    PLACEMENT_INTERVAL_MS: String(options.placementIntervalMs),
  };
  const random = seededRandom(options.seed);
  const started = Date.now();
  console.log('worker failover bench');
  console.log(machineLine());
  console.log(
    `settings: ${options.workers} workers, ${options.sessions} sessions, ${options.runs} runs per mode (${modes.join(', ')}); worker env ` +
      Object.entries(workerEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
  );

  const cluster = await WorkerCluster.start({}, { workerEnv, databasePrefix: 'bench_failover_test' });
  cleanUpOnInterrupt(() => cluster.stop());
  const clock = new EventClock(cluster);
  const logs = new LogTap(
    cluster,
    (line) => line.msg === 'session claimed' || line.level === 'warn' || line.level === 'error',
    options.logFile || undefined,
  );
  const leaving = new Set<string>();
  let workerCount = 0;
  const startWorker = () => cluster.startWorker(`fo-${String(++workerCount).padStart(2, '0')}`);
  const running = () => [...cluster.workers.keys()].filter((id) => !leaving.has(id));
  const conflicts = () =>
    cluster.events.filter((e) => e.type === 'session.disconnected' && e.payload.code === 440).length;
  const qrCount = () => cluster.events.filter((e) => e.type === 'session.qr').length;
  let failed = false;

  try {
    await Promise.all(Array.from({ length: options.workers }, startWorker));
    const sessions = benchSessions('locFo', 0, options.sessions, 15551000000);
    const link = await linkAll(cluster, sessions, { timeoutMs: 60_000 + options.sessions * 2_000 });
    if (link.missing.length > 0) {
      throw new Error(
        `linking failed: ${JSON.stringify(link.missing)} (last scan error: ${link.lastScanError})`,
      );
    }
    console.log(
      `linked ${link.ready} sessions in ${secs(link.lastReadyAt - link.startedAt, 1)} s ` +
        `(${link.scans} QR scans, ${link.failedScans} refused, ${link.startErrors} failed starts)`,
    );

    /**
     * Every session open on a running worker that holds its lease, owners inside placement's band
     * (within one of ceil(sessions / workers)), and no owner change for a placement interval.
     */
    const settle = async (): Promise<number> => {
      const since = Date.now();
      let signature = '';
      let stableSince = 0;
      const ok = await waitUntil(
        async () => {
          const [rows, leases] = await Promise.all([cluster.sessionRows(), liveLeases(cluster)]);
          const live = running();
          const counts = new Map(live.map((id) => [id, 0]));
          for (const s of sessions) {
            const lease = leases.get(s.locationId);
            const row = rows.get(s.locationId);
            if (!lease || row?.state !== 'open' || row.owner_worker_id !== lease.ownerId) return false;
            const n = counts.get(lease.ownerId);
            if (n === undefined) return false;
            counts.set(lease.ownerId, n + 1);
          }
          const level = Math.ceil(sessions.length / live.length);
          if ([...counts.values()].some((n) => n < level - 1 || n > level + 1)) return false;
          const now = sessions.map((s) => leases.get(s.locationId)?.ownerId).join(',');
          if (now !== signature) {
            signature = now;
            stableSince = Date.now();
          }
          return Date.now() - stableSince >= options.placementIntervalMs;
        },
        120_000,
        200,
      );
      if (!ok) throw new Error('the cluster did not settle within 120 s');
      return Date.now() - since;
    };
    await settle();
    const qrsAfterLink = qrCount();

    const runs: Run[] = [];
    for (let index = 0; index < options.runs; index++) {
      for (const [m, mode] of (modes as Mode[]).entries()) {
        const target = sessions[(index * modes.length + m) % sessions.length].locationId;
        if (mode === 'term') {
          await startWorker();
          await settle();
        }
        let leases = await liveLeases(cluster);
        const victim = leases.get(target)?.ownerId;
        const victimProcess = victim === undefined ? undefined : cluster.workers.get(victim);
        if (victim === undefined || !victimProcess) throw new Error(`no live owner for ${target}`);
        const [qrs0, conflicts0, double0] = [qrCount(), conflicts(), await cluster.doubleConnections()];
        await sleep(random() * (mode === 'kill' ? options.leaseRenewMs : options.placementIntervalMs));
        // Read again: the lease time left at the kill is part of the figure.
        leases = await liveLeases(cluster);
        const owned = [...leases.values()].filter((lease) => lease.ownerId === victim);
        if (!owned.some((lease) => lease.locationId === target))
          throw new Error(`${target} moved before the signal`);

        const t0 = Date.now();
        leaving.add(victim);
        victimProcess.signal(mode === 'kill' ? 'SIGKILL' : 'SIGTERM');
        const exited = victimProcess.exited.then((exit) => {
          logs.poll();
          cluster.workers.delete(victim);
          leaving.delete(victim);
          return { ...exit, at: Date.now() };
        });
        // Settled into a value so a failed start is reported after the measurement, not as a crash.
        const replacement =
          mode === 'kill'
            ? startWorker().then(
                () => undefined,
                (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
              )
            : undefined;

        const readyOf = (locationId: string): EventEnvelope<'session.ready'> | undefined =>
          clock.since('session.ready', t0, locationId).find((e) => e.payload.workerId !== victim);
        const done = await waitUntil(
          () => owned.every((lease) => readyOf(lease.locationId) !== undefined),
          options.leaseTtlMs + 60_000,
          50,
        );
        // A SIGTERMed worker has SHUTDOWN_HANDOFF_MS + 10 s to exit; past that it is killed.
        const killLater = setTimeout(() => victimProcess.signal('SIGKILL'), 30_000);
        const exit = await exited;
        clearTimeout(killLater);
        const replacementError = await replacement;
        if (replacementError !== undefined) throw replacementError;
        if (!done) {
          const late = owned.filter((lease) => !readyOf(lease.locationId)).map((lease) => lease.locationId);
          throw new Error(`${mode} run ${index + 1}: ${late.join(', ')} not open on another worker in time`);
        }
        const moved = owned.map((lease): Moved => {
          const ready = readyOf(lease.locationId) as EventEnvelope<'session.ready'>;
          const newOwner = ready.payload.workerId;
          const claimedAt = logs.firstAfter(
            t0,
            ({ worker, line }) =>
              worker === newOwner && line.msg === 'session claimed' && line.locationId === lease.locationId,
          );
          return {
            locationId: lease.locationId,
            newOwner,
            observedMs: clock.at(ready) - t0,
            occurredMs: Date.parse(ready.occurredAt) - t0,
            claimMs: claimedAt === undefined ? NaN : claimedAt - t0,
            leaseFreeMs:
              mode === 'kill' ? lease.remainingMs : releasedAt(victimProcess, lease.locationId, t0) - t0,
          };
        });
        const settleMs = await settle();
        const targetMoved = moved.find((m) => m.locationId === target) as Moved;
        const run: Run = {
          mode,
          index: index + 1,
          target,
          victim,
          moved,
          targetMs: targetMoved.observedMs,
          allMs: Math.max(...moved.map((m) => m.observedMs)),
          exit: exit.signal !== null ? exit.signal : `code ${exit.code} after ${secs(exit.at - t0, 1)} s`,
          settleMs,
          qrs: qrCount() - qrs0,
          conflicts: conflicts() - conflicts0,
          doubleConnections: (await cluster.doubleConnections()) - double0,
        };
        runs.push(run);
        console.log(
          `${mode} #${run.index}: ${target} ${secs(run.targetMs)} s (all ${run.moved.length} of ${victim}: ` +
            `${secs(run.allMs)} s) → ${targetMoved.newOwner}; victim ${run.exit}; settled ${secs(settleMs, 1)} s` +
            (run.qrs || run.conflicts || run.doubleConnections
              ? `; QRs ${run.qrs}, 440s ${run.conflicts}, double ${run.doubleConnections}`
              : ''),
        );
      }
    }
    logs.close();
    const safe = await report(runs, options, {
      qrsAfterLink: qrCount() - qrsAfterLink,
      conflicts: conflicts(),
      doubleConnections: await cluster.doubleConnections(),
      problems: summarizeProblems(logs.lines),
      durationMs: Date.now() - started,
    });
    failed = !safe;
  } catch (error) {
    failed = true;
    console.error(error);
  } finally {
    clock.close();
    logs.close();
    await cluster.stop();
  }
  process.exitCode = failed ? 1 : 0;
}

/** When the SIGTERMed worker logged that it let the session go (socket closed, lease released). */
function releasedAt(worker: AppProcess, locationId: string, since: number): number {
  const line = worker.lines.find(
    (l) => l.msg === 'session stopped on this worker' && l.locationId === locationId && lineTime(l) >= since,
  );
  return line ? lineTime(line) : NaN;
}

async function report(
  runs: Run[],
  options: typeof DEFAULTS,
  totals: {
    qrsAfterLink: number;
    conflicts: number;
    doubleConnections: number;
    problems: string[];
    durationMs: number;
  },
): Promise<boolean> {
  console.log('');
  console.log(
    `lease TTL ${options.leaseTtlMs} ms, renew every ${options.leaseRenewMs} ms, placement every ${options.placementIntervalMs} ms ` +
      `→ kill -9 failover is bounded to [${secs(options.leaseTtlMs - options.leaseRenewMs, 1)}, ` +
      `${secs(options.leaseTtlMs, 1)}] s + claim (woken at the expiry) + connect/login`,
  );
  console.log('time = signal → session.ready from another worker, as received by the bench (seconds)');
  console.log('');
  const rows: (string | number)[][] = [];
  const verdicts: boolean[] = [];
  const summaries: Record<string, unknown> = {};
  for (const mode of ['kill', 'term'] as const) {
    const of = runs.filter((r) => r.mode === mode);
    if (of.length === 0) continue;
    const target = summarize(of.map((r) => r.targetMs));
    const all = summarize(of.map((r) => r.allMs));
    const each = summarize(of.flatMap((r) => r.moved.map((m) => m.observedMs)));
    const occurred = summarize(of.flatMap((r) => r.moved.map((m) => m.occurredMs)));
    const ok = target.p95 <= TARGET_P95_MS[mode];
    verdicts.push(ok);
    const label = mode === 'kill' ? 'kill -9' : 'SIGTERM';
    rows.push(
      [
        `${label}: the run's session`,
        target.n,
        secs(target.p50),
        secs(target.p95),
        secs(target.max),
        `p95 ≤ ${secs(TARGET_P95_MS[mode], 0)} s: ${verdict(ok)}`,
      ],
      [`${label}: all the victim's sessions`, all.n, secs(all.p50), secs(all.p95), secs(all.max), ''],
      [`${label}: every moved session`, each.n, secs(each.p50), secs(each.p95), secs(each.max), ''],
      [
        `${label}: same, by occurredAt`,
        occurred.n,
        secs(occurred.p50),
        secs(occurred.p95),
        secs(occurred.max),
        '',
      ],
    );
    summaries[mode] = { target, all, each, occurred, targetP95Ms: TARGET_P95_MS[mode], pass: ok };
  }
  printTable(['figure', 'n', 'p50', 'p95', 'max', 'target'], rows);

  console.log('');
  console.log('where the time goes, every moved session (seconds, p50 / p95)');
  const breakdown: (string | number)[][] = [];
  for (const mode of ['kill', 'term'] as const) {
    const moved = runs.filter((r) => r.mode === mode).flatMap((r) => r.moved);
    if (moved.length === 0) continue;
    const pair = (values: number[]) => {
      const s = summarize(values.filter(Number.isFinite));
      return `${secs(s.p50)} / ${secs(s.p95)}`;
    };
    breakdown.push([
      mode === 'kill' ? 'kill -9 (lease time left at the kill)' : 'SIGTERM (old owner closed and released)',
      pair(moved.map((m) => m.leaseFreeMs)),
      pair(moved.map((m) => m.claimMs - m.leaseFreeMs)),
      pair(moved.map((m) => m.observedMs - m.claimMs)),
    ]);
  }
  printTable(['mode', 'signal → lease free', 'free → claimed', 'claimed → ready'], breakdown);

  console.log('');
  const safe = totals.qrsAfterLink === 0 && totals.conflicts === 0 && totals.doubleConnections === 0;
  console.log(
    `safety: QRs after linking ${totals.qrsAfterLink}, 440 disconnects ${totals.conflicts}, ` +
      `double connections ${totals.doubleConnections} → ${verdict(safe)}`,
  );
  if (totals.problems.length) {
    console.log('worker warnings and errors (count, level: message):');
    for (const line of totals.problems.slice(0, 15)) console.log(`  ${line}`);
  }
  console.log(`duration ${secs(totals.durationMs, 0)} s; load average at the end ${loadAverage()}`);
  const kill = summaries.kill as { target: { p50: number; p95: number } } | undefined;
  const term = summaries.term as { target: { p50: number; p95: number } } | undefined;
  console.log(
    `summary: kill -9 failover p50 ${kill ? secs(kill.target.p50) : '-'} s / p95 ${kill ? secs(kill.target.p95) : '-'} s ` +
      `(TTL ${secs(options.leaseTtlMs, 0)} s), SIGTERM hand-off p50 ${term ? secs(term.target.p50) : '-'} s / ` +
      `p95 ${term ? secs(term.target.p95) : '-'} s; targets ${verdicts.every(Boolean) ? 'met' : 'MISSED'}; safety ${verdict(safe)}`,
  );
  console.log(
    JSON.stringify({
      bench: 'worker-failover',
      settings: options,
      ...summaries,
      ...totals,
      problems: undefined,
      runs: runs.map((r) => ({
        mode: r.mode,
        targetMs: r.targetMs,
        allMs: r.allMs,
        moved: r.moved.length,
        victim: r.victim,
        exit: r.exit,
      })),
    }),
  );
  return safe;
}

void main();
