/**
 * What one worker process costs per open, idle WhatsApp session, and how fast it answers a start.
 *
 *   npm run build && node dist/tools/bench/worker-capacity.bench.js [--steps 10,100,300] [--idle-ms 15000]
 *     [--sample-ms 30000] [--qr-starts 50] [--ramp-per-sec 5] [--log-file worker-logs.jsonl]
 *
 * ONE worker process (production defaults; `--ramp-per-sec` sets its CONNECT_RAMP_PER_SEC) against the
 * sandbox:
 *
 * 1. Baseline with no session: idle `--idle-ms`, then sample over `--sample-ms`.
 * 2. Time to first QR, idle worker: `--qr-starts` times, one after another, send `session.start` for a
 *    new unlinked location, wait for its `session.qr` event (both on this process's clock), then stop
 *    it with `session.stop`. Starts are spaced by at least 1 / ramp so the worker's connect ramp does
 *    not queue them: the figure is the start path, not a burst.
 * 3. For each step, link sessions up to that many (the start commands go out at once; the worker's
 *    ramp paces the connects; each QR is scanned through the sandbox as it appears), note the pairing
 *    throughput, the worker's CPU per pairing and its longest event-loop stall while linking (with the
 *    machine's load average, to tell a starved process from one that blocked itself), let the worker
 *    idle `--idle-ms`, then sample its RSS (VmRSS, every second, averaged) and CPU time (utime + stime
 *    from /proc/<pid>/stat) over `--sample-ms` — a window that covers one keep-alive period (WA_KEEPALIVE_MS, 30 s) of every socket.
 * 4. Time to first QR again, with every session of the last step open.
 *
 * Prints RSS and idle CPU per step, the least-squares slope across the steps (MB and CPU % per
 * session), and time to first QR p50/p95 against the target p95 ≤ 1 s. Exits 1 if a step cannot be
 * reached, a start gets no QR, or the worker gives up a lease (its renewals were not confirmed in time:
 * it was overloaded, and dropped sessions that were fine).
 *
 * `--log-file` keeps every line every worker printed (JSON lines), for a post-mortem.
 */
import { loadavg } from 'node:os';
import type { EventEnvelope } from '@app/contracts';
import { productionWorkerEnv, WorkerCluster } from '@app/testing/worker-cluster';
import {
  benchSessions,
  cleanUpOnInterrupt,
  EventClock,
  fixed,
  linearFit,
  lineTime,
  linkAll,
  loadAverage,
  LogTap,
  machineLine,
  mib,
  parseFlags,
  printTable,
  procSample,
  secs,
  sleep,
  summarize,
  summarizeProblems,
  verdict,
  type Summary,
} from './worker-bench.support';

const production = productionWorkerEnv();
const DEFAULTS = {
  steps: '10,100,300',
  idleMs: 15_000,
  sampleMs: 30_000,
  qrStarts: 50,
  rampPerSec: Number(production.CONNECT_RAMP_PER_SEC),
  logFile: '',
};
const USAGE =
  'usage: node dist/tools/bench/worker-capacity.bench.js [--steps 10,100,300] [--idle-ms 15000] ' +
  '[--sample-ms 30000] [--qr-starts 50] [--ramp-per-sec 5] [--log-file worker-logs.jsonl]';
const QR_TARGET_P95_MS = 1_000;
const WORKER = 'cap-01';

interface Step {
  sessions: number;
  rssMb: number;
  cpuPercent: number;
  heapMb: number;
  loopLagP99Ms: number;
  /** Pairings of this step per second, first start → last `session.ready`. */
  pairingsPerSec: number;
  /** Worker CPU seconds per pairing during this step's linking. */
  cpuPerPairing: number;
  /**
   * Longest event-loop stall of the worker while this step linked: a long one with little CPU used
   * means the process was starved (machine load), a long one with the CPU busy means it blocked itself.
   */
  linkLoopLagMaxMs: number;
  /** 1-minute load average of the machine when the step's linking ended. */
  linkLoad1: number;
  sandboxRssMb: number;
  /** Leases the worker gave up (renewal not confirmed in time) while linking and sampling this step. */
  leaseLosses: number;
}

async function main(): Promise<void> {
  const options = parseFlags(process.argv.slice(2), DEFAULTS, USAGE);
  const steps = options.steps.split(',').map(Number);
  if (steps.some((s, i) => !Number.isInteger(s) || s < 1 || (i > 0 && s <= steps[i - 1]))) {
    throw new Error('--steps must be increasing whole numbers, e.g. 10,100,300');
  }
  if (options.rampPerSec < 1) throw new Error('--ramp-per-sec must be at least 1');
  const workerEnv = {
    ...production,
    CONNECT_RAMP_PER_SEC: String(options.rampPerSec),
    MAX_SESSIONS: String(Math.max(Number(production.MAX_SESSIONS), steps[steps.length - 1] + 10)),
  };
  const started = Date.now();
  console.log('worker capacity bench');
  console.log(machineLine());
  console.log(
    `settings: steps ${steps.join(' → ')} sessions on one worker, idle ${options.idleMs} ms then sample ${options.sampleMs} ms, ` +
      `${options.qrStarts} timed starts twice; worker env ` +
      Object.entries(workerEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
  );

  const cluster = await WorkerCluster.start({}, { workerEnv, databasePrefix: 'bench_capacity_test' });
  cleanUpOnInterrupt(() => cluster.stop());
  const clock = new EventClock(cluster);
  const logs = new LogTap(
    cluster,
    (line) => line.level === 'warn' || line.level === 'error' || line.level === 'fatal',
    options.logFile || undefined,
  );
  let failed = true;

  try {
    const worker = await cluster.startWorker(WORKER);
    const pid = worker.pid;
    if (pid === undefined) throw new Error('the worker has no pid');
    const metricsUrl = `http://127.0.0.1:${worker.options.env.HTTP_PORT}/metrics`;

    const leaseLossesSince = (since: number) =>
      logs.lines.filter(({ line }) => String(line.msg).startsWith('lease lost') && lineTime(line) >= since)
        .length;
    const sample = async (
      sessions: number,
      since: number,
      linking?: { rate: number; cpu: number; loopLagMaxMs: number; load1: number },
    ): Promise<Step> => {
      await sleep(options.idleMs);
      // A scrape resets the event-loop delay histogram: the next one then covers the idle window only.
      await readMetrics(metricsUrl);
      const first = procSample(pid);
      const rss: number[] = [first.rssBytes];
      while (Date.now() - first.at < options.sampleMs) {
        await sleep(Math.min(1_000, options.sampleMs - (Date.now() - first.at)));
        rss.push(procSample(pid).rssBytes);
      }
      const last = procSample(pid);
      const metrics = await readMetrics(metricsUrl);
      const sandbox = await cluster.sandbox.admin.stats();
      logs.poll();
      const step: Step = {
        sessions,
        rssMb: mib(rss.reduce((a, b) => a + b, 0) / rss.length),
        cpuPercent: ((last.cpuSeconds - first.cpuSeconds) / ((last.at - first.at) / 1000)) * 100,
        heapMb: mib(metrics.get('nodejs_heap_size_used_bytes') ?? NaN),
        loopLagP99Ms: (metrics.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
        pairingsPerSec: linking?.rate ?? NaN,
        cpuPerPairing: linking?.cpu ?? NaN,
        linkLoopLagMaxMs: linking?.loopLagMaxMs ?? NaN,
        linkLoad1: linking?.load1 ?? NaN,
        sandboxRssMb: mib(sandbox.process.rssBytes),
        leaseLosses: leaseLossesSince(since),
      };
      console.log(
        `  ${sessions} sessions: RSS ${fixed(step.rssMb)} MB, idle CPU ${fixed(step.cpuPercent, 2)} % of a core, ` +
          `heap ${fixed(step.heapMb)} MB, event-loop lag p99 ${fixed(step.loopLagP99Ms)} ms` +
          (step.leaseLosses ? `; ${step.leaseLosses} leases LOST since the step began` : ''),
      );
      return step;
    };

    let qrRound = 0;
    const timeToFirstQr = async (): Promise<{ ms: number[]; missing: number }> => {
      qrRound += 1;
      const locations = Array.from(
        { length: options.qrStarts },
        (_, i) => `locQr${qrRound}x${String(i).padStart(3, '0')}`,
      );
      await cluster.dataSource.query(
        `INSERT INTO installations (location_id, install_type) SELECT unnest($1::text[]), 'Location'`,
        [locations],
      );
      const ms: number[] = [];
      let missing = 0;
      let lastStart = 0;
      let failedInARow = 0;
      const spacing = Math.ceil(1000 / options.rampPerSec) + 20;
      for (const locationId of locations) {
        // A worker that fails five starts in a row is broken, not slow: say so instead of waiting it out.
        if (failedInARow >= 5) {
          missing += 1;
          continue;
        }
        const wait = lastStart + spacing - Date.now();
        if (wait > 0) await sleep(wait);
        lastStart = Date.now();
        try {
          await cluster.commands.request('session.start', locationId, {});
        } catch (error) {
          missing += 1;
          failedInARow += 1;
          console.log(
            `  start of ${locationId} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
          continue;
        }
        let qr: EventEnvelope<'session.qr'> | undefined;
        const deadline = lastStart + 10_000;
        while (!(qr = clock.since('session.qr', lastStart, locationId)[0]) && Date.now() < deadline)
          await sleep(5);
        if (qr) {
          ms.push(clock.at(qr) - lastStart);
          failedInARow = 0;
        } else {
          missing += 1;
          failedInARow += 1;
        }
        await cluster.commands.request('session.stop', locationId, {}).catch(() => undefined);
      }
      const s = summarize(ms);
      console.log(
        `  time to first QR over ${ms.length} starts: p50 ${fixed(s.p50, 0)} ms, p95 ${fixed(s.p95, 0)} ms, max ${fixed(s.max, 0)} ms` +
          (missing
            ? `, ${missing} starts failed or got no QR within 10 s` +
              (failedInARow >= 5 ? ' (gave up after 5 failures in a row)' : '')
            : ''),
      );
      return { ms, missing };
    };

    console.log('baseline (no session):');
    const rows: Step[] = [await sample(0, Date.now())];
    console.log('time to first QR, idle worker:');
    const qrIdle = await timeToFirstQr();

    let linked = 0;
    let linkFailures = 0;
    for (const target of steps) {
      console.log(`step ${target}: linking ${target - linked} sessions`);
      const sessions = benchSessions('locCap', linked, target - linked, 15553000000);
      const stepStarted = Date.now();
      const cpuBefore = procSample(pid).cpuSeconds;
      await readMetrics(metricsUrl); // resets the event-loop delay histogram: the next read covers the linking
      const link = await linkAll(cluster, sessions, { timeoutMs: 120_000 + sessions.length * 2_000 });
      const cpuAfter = procSample(pid).cpuSeconds;
      const loopLagMaxMs =
        ((await readMetrics(metricsUrl)).get('nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000;
      const load1 = loadavg()[0];
      const wall = (link.lastReadyAt - link.startedAt) / 1000;
      const rate = link.ready / wall;
      console.log(
        `  ${link.ready}/${sessions.length} open in ${fixed(wall)} s = ${fixed(rate, 2)} pairings/s, ` +
          `worker CPU ${fixed((cpuAfter - cpuBefore) / Math.max(1, link.ready), 3)} s per pairing ` +
          `(${link.scans} scans, ${link.failedScans} refused, ${link.startErrors} failed starts); ` +
          `longest event-loop stall ${fixed(loopLagMaxMs, 0)} ms, load ${fixed(load1, 2)}`,
      );
      if (link.missing.length > 0) {
        linkFailures += link.missing.length;
        logs.poll();
        console.log(`  ${leaseLossesSince(stepStarted)} leases lost by the worker during this step`);
        console.log(
          `  not open: ${JSON.stringify(link.missing.slice(0, 10))} (last scan error: ${link.lastScanError})`,
        );
        break;
      }
      linked = target;
      rows.push(
        await sample(target, stepStarted, {
          rate,
          cpu: (cpuAfter - cpuBefore) / link.ready,
          loopLagMaxMs,
          load1,
        }),
      );
    }
    const openNow = [...(await cluster.sessionRows()).values()].filter((r) => r.state === 'open').length;
    const loadedLabel = `${openNow} sessions open` + (linkFailures > 0 ? ' (a step failed)' : '');
    console.log(`time to first QR, ${loadedLabel}:`);
    const qrLoaded = await timeToFirstQr();
    logs.close();

    // ---------------------------------------------------------------- report
    const measured = rows.filter((r) => r.sessions > 0);
    const baseline = rows[0];
    const rssFit = linearFit(
      measured.map((r) => r.sessions),
      measured.map((r) => r.rssMb),
    );
    const cpuFit = linearFit(
      measured.map((r) => r.sessions),
      measured.map((r) => r.cpuPercent),
    );
    console.log('');
    printTable(
      [
        'sessions',
        'RSS MB',
        'MB/session over baseline',
        'heap MB',
        'idle CPU %',
        'CPU %/session',
        'loop lag p99 ms',
        'pairings/s',
        'CPU s/pairing',
        'max stall ms',
        'load',
        'sandbox RSS MB',
        'leases lost',
      ],
      rows.map((r) => [
        r.sessions,
        fixed(r.rssMb),
        r.sessions ? fixed((r.rssMb - baseline.rssMb) / r.sessions, 2) : '-',
        fixed(r.heapMb),
        fixed(r.cpuPercent, 2),
        r.sessions ? fixed((r.cpuPercent - baseline.cpuPercent) / r.sessions, 4) : '-',
        fixed(r.loopLagP99Ms),
        fixed(r.pairingsPerSec, 2),
        fixed(r.cpuPerPairing, 3),
        fixed(r.linkLoopLagMaxMs, 0),
        fixed(r.linkLoad1, 2),
        fixed(r.sandboxRssMb),
        r.leaseLosses,
      ]),
    );
    console.log(
      `slope (least squares over ${measured.map((r) => r.sessions).join(', ')} sessions): RSS ${fixed(rssFit.slope, 2)} MB per session ` +
        `(intercept ${fixed(rssFit.intercept)} MB, r² ${fixed(rssFit.r2, 3)}); idle CPU ${fixed(cpuFit.slope, 4)} % of a core per session ` +
        `(r² ${fixed(cpuFit.r2, 3)})`,
    );
    console.log('');
    const qrRows = (
      label: string,
      result: { ms: number[]; missing: number },
    ): [(string | number)[], Summary] => {
      const s = summarize(result.ms);
      return [
        [
          label,
          s.n,
          result.missing,
          fixed(s.p50, 0),
          fixed(s.p95, 0),
          fixed(s.max, 0),
          `p95 ≤ ${QR_TARGET_P95_MS} ms: ${verdict(s.p95 <= QR_TARGET_P95_MS && result.missing === 0)}`,
        ],
        s,
      ];
    };
    const [idleRow, idleQr] = qrRows('idle worker', qrIdle);
    const [loadedRow, loadedQr] = qrRows(loadedLabel, qrLoaded);
    console.log('time to first QR = session.start sent → session.qr received, both on the bench clock (ms)');
    printTable(['worker', 'starts', 'no QR', 'p50', 'p95', 'max', 'target'], [idleRow, loadedRow]);
    const problems = summarizeProblems(logs.lines);
    if (problems.length) {
      console.log('worker warnings and errors (count, level: message):');
      for (const line of problems.slice(0, 15)) console.log(`  ${line}`);
    }
    const pairing = measured.filter((r) => Number.isFinite(r.pairingsPerSec));
    console.log(`duration ${secs(Date.now() - started, 0)} s; load average at the end ${loadAverage()}`);
    console.log(
      `summary: RSS ${fixed(rssFit.slope, 2)} MB/session, idle CPU ${fixed(cpuFit.slope, 4)} %/session ` +
        `(${rows.map((r) => `${r.sessions}: ${fixed(r.rssMb, 0)} MB ${fixed(r.cpuPercent, 1)} %`).join(', ')}); ` +
        `pairing ${pairing.map((r) => fixed(r.pairingsPerSec, 2)).join(' / ')} /s at ramp ${options.rampPerSec}/s; ` +
        `first QR p95 ${fixed(idleQr.p95, 0)} ms idle, ${fixed(loadedQr.p95, 0)} ms loaded (target ${QR_TARGET_P95_MS} ms)`,
    );
    console.log(
      JSON.stringify({
        bench: 'worker-capacity',
        settings: options,
        steps: rows,
        rssMbPerSession: rssFit.slope,
        cpuPercentPerSession: cpuFit.slope,
        qrIdle: idleQr,
        qrLoaded: loadedQr,
        linkFailures,
        durationMs: Date.now() - started,
      }),
    );
    failed =
      linkFailures > 0 || qrIdle.missing > 0 || qrLoaded.missing > 0 || rows.some((r) => r.leaseLosses > 0);
  } catch (error) {
    console.error(error);
  } finally {
    clock.close();
    logs.close();
    await cluster.stop();
  }
  process.exitCode = failed ? 1 : 0;
}

/** Unlabelled-or-not gauge values from a Prometheus text page, by metric name (first sample wins). */
async function readMetrics(url: string): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  try {
    const text = await (await fetch(url)).text();
    for (const line of text.split('\n')) {
      const match = /^([a-z_:][a-z0-9_:]*)(?:\{[^}]*\})? (\S+)$/i.exec(line);
      if (match && !values.has(match[1])) values.set(match[1], Number(match[2]));
    }
  } catch {
    // Metrics are a bonus next to /proc; a worker without them still gets measured.
  }
  return values;
}

void main();
