/**
 * The soak itself, shared by the CLI (`npm run soak`, 30 minutes and more) and its short variant in CI
 * (test/reliability/soak.e2e-spec.ts): the whole system (every app a built process) under steady
 * two-way traffic, sampling the resident memory of every process. After a warm-up, a process whose
 * memory keeps growing leaks; the target is no product process growing more than 5 %. At the end the
 * checkers confirm nothing was lost or doubled over the whole run.
 *
 * Growth compares the mean RSS of the last tenth of the run with the mean of the first tenth after
 * the warm-up (means, so one GC cycle does not decide); the slope is a least-squares line over every
 * sample after the warm-up.
 */
import { runViolations, sleep, SystemHarness, type RunCheck } from '@app/testing/reliability/system-harness';
import { fixed, linearFit, machineLine, mib, procSample } from '../bench/worker-bench.support';

export interface SoakOptions {
  seconds: number;
  warmupSeconds: number;
  sampleSeconds: number;
  sessions: number;
  contacts: number;
  rate: number;
  outRate: number;
  workers: number;
  syncs: number;
  logDir?: string;
  /** Seconds between progress lines (0: none). */
  reportEverySeconds: number;
  /** Called once the system is up (e.g. to stop it on Ctrl-C). */
  onStarted?: (harness: SystemHarness) => void;
}

export interface SoakSeries {
  name: string;
  product: boolean;
  samples: { atS: number; rssBytes: number }[];
}

export interface SoakRow {
  name: string;
  product: boolean;
  startMiB: number;
  endMiB: number;
  growth: number;
  slopeMiBPerHour: number;
}

export interface SoakResult {
  rows: SoakRow[];
  series: SoakSeries[];
  check: RunCheck;
  /** What the run broke of #9's targets, besides memory (lost, doubled, double connections, ...). */
  problems: string[];
  quiesceMs: number;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

export async function runSoak(options: SoakOptions, log: (line: string) => void): Promise<SoakResult> {
  if (options.warmupSeconds >= options.seconds) throw new Error('the warm-up must be shorter than the run');
  const harness = await SystemHarness.start({
    workers: options.workers,
    syncs: options.syncs,
    logDir: options.logDir,
  });
  options.onStarted?.(harness);
  try {
    await harness.link(SystemHarness.sessionSpecs(options.sessions, 'soakLoc'));
    const workload = await harness.warmWorkload(options.contacts, {
      inboundPerSecond: options.rate,
      outboundPerSecond: options.outRate,
      runTag: 'soak',
    });
    const series = new Map<string, SoakSeries>();
    const started = Date.now();
    const sample = () => {
      const atS = (Date.now() - started) / 1000;
      for (const p of harness.processes()) {
        try {
          const { rssBytes } = procSample(p.pid);
          const s = series.get(p.name) ?? { name: p.name, product: p.product, samples: [] };
          s.samples.push({ atS, rssBytes });
          series.set(p.name, s);
        } catch {
          // the process just exited; it has no sample this round
        }
      }
      // The harness keeps every event it saw; a soak only needs the recent ones.
      if (harness.cluster.events.length > 50_000) harness.cluster.events.splice(0, 25_000);
    };
    workload.start();
    const endAt = started + options.seconds * 1000;
    let nextReport = options.reportEverySeconds > 0 ? started + options.reportEverySeconds * 1000 : Infinity;
    while (Date.now() < endAt) {
      sample();
      if (Date.now() >= nextReport) {
        nextReport += options.reportEverySeconds * 1000;
        const line = [...series.values()]
          .filter((s) => s.product)
          .map((s) => `${s.name} ${fixed(mib(s.samples.at(-1)!.rssBytes), 0)}`)
          .join(', ');
        const load = machineLine()
          .replace(/^.*loadavg /, '')
          .replace(/ \(.*$/, '');
        log(
          `  ${fixed((Date.now() - started) / 60_000, 1)} min: ${workload.inbound.length} in, ${workload.outbound.length} out; RSS MiB ${line}; load ${load}`,
        );
      }
      await sleep(Math.min(options.sampleSeconds * 1000, Math.max(0, endAt - Date.now())));
    }
    sample();
    await workload.stop();
    const quiesceMs = await harness.waitForDeliveries(workload, 300_000);
    const check = await harness.check(workload);

    const warmS = options.warmupSeconds;
    const runS = options.seconds;
    const tenth = (runS - warmS) / 10;
    const rows = [...series.values()].map((s): SoakRow => {
      const after = s.samples.filter((x) => x.atS >= warmS);
      const first = after.filter((x) => x.atS < warmS + tenth).map((x) => x.rssBytes);
      const last = after.filter((x) => x.atS >= runS - tenth).map((x) => x.rssBytes);
      const start = mean(first);
      const end = mean(last);
      const fit = linearFit(
        after.map((x) => x.atS / 3600),
        after.map((x) => mib(x.rssBytes)),
      );
      return {
        name: s.name,
        product: s.product,
        startMiB: mib(start),
        endMiB: mib(end),
        growth: (end - start) / start,
        slopeMiBPerHour: fit.slope,
      };
    });
    return { rows, series: [...series.values()], check, problems: runViolations(check), quiesceMs };
  } finally {
    await harness.stop();
  }
}
