/**
 * Soak: the whole system (every app a built process) under steady two-way traffic for a long time,
 * sampling the resident memory of every process. After a warm-up, a process whose memory keeps
 * growing leaks; the target is no product process growing more than 5 %. At the end the checkers
 * confirm nothing was lost or doubled over the whole run.
 *
 *   npm run soak -- --minutes 30 [--warmup 5] [--sample 10] [--sessions 12] [--contacts 2]
 *        [--rate 20] [--out-rate 4] [--workers 2] [--syncs 2] [--json soak.json]
 *
 * Growth compares the mean RSS of the last tenth of the run with the mean of the first tenth after
 * the warm-up (means, so one GC cycle does not decide); the slope is a least-squares line over every
 * sample after the warm-up. Run under `flock /tmp/bench.lock` on a shared machine.
 */
import { writeFileSync } from 'node:fs';
import { runViolations, sleep, SystemHarness } from '@app/testing/reliability/system-harness';
import {
  cleanUpOnInterrupt,
  fixed,
  linearFit,
  machineLine,
  mib,
  parseFlags,
  printTable,
  procSample,
  verdict,
} from '../bench/worker-bench.support';

const USAGE =
  'npm run soak -- --minutes 30 [--warmup 5] [--sample 10] [--sessions 12] [--contacts 2] [--rate 20] [--out-rate 4] [--workers 2] [--syncs 2] [--json file] [--log-dir dir]';
const flags = parseFlags(
  process.argv.slice(2),
  {
    minutes: 30,
    warmup: 5,
    sample: 10,
    sessions: 12,
    contacts: 2,
    rate: 20,
    outRate: 4,
    workers: 2,
    syncs: 2,
    json: '',
    logDir: `/tmp/soak-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  },
  USAGE,
);
const GROWTH_TARGET = 0.05;

interface Series {
  name: string;
  product: boolean;
  samples: { atS: number; rssBytes: number }[];
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

async function main(): Promise<void> {
  if (flags.warmup >= flags.minutes) throw new Error('--warmup must be shorter than --minutes');
  console.log(machineLine());
  const harness = await SystemHarness.start({
    workers: flags.workers,
    syncs: flags.syncs,
    logDir: flags.logDir,
  });
  cleanUpOnInterrupt(() => harness.stop());
  try {
    await harness.link(SystemHarness.sessionSpecs(flags.sessions, 'soakLoc'));
    const workload = await harness.warmWorkload(flags.contacts, {
      inboundPerSecond: flags.rate,
      outboundPerSecond: flags.outRate,
      runTag: 'soak',
    });
    console.log(
      `soak: ${flags.minutes} min (warm-up ${flags.warmup} min), ${flags.sessions} numbers × ${flags.contacts} contacts, ${flags.rate} msg/s WhatsApp → GHL, ${flags.outRate} msg/s GHL → WhatsApp; ${flags.workers} workers, ${flags.syncs} syncs; logs in ${flags.logDir}`,
    );
    const series = new Map<string, Series>();
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
    const endAt = started + flags.minutes * 60_000;
    let nextReport = started + 60_000;
    while (Date.now() < endAt) {
      sample();
      if (Date.now() >= nextReport) {
        nextReport += 60_000;
        const line = [...series.values()]
          .filter((s) => s.product)
          .map((s) => `${s.name} ${fixed(mib(s.samples.at(-1)!.rssBytes), 0)}`)
          .join(', ');
        console.log(
          `  ${fixed((Date.now() - started) / 60_000, 0)} min: ${workload.inbound.length} in, ${workload.outbound.length} out; RSS MiB ${line}; load ${machineLine()
            .replace(/^.*loadavg /, '')
            .replace(/ \(.*$/, '')}`,
        );
      }
      await sleep(flags.sample * 1000);
    }
    await workload.stop();
    const quiesceMs = await harness.waitForDeliveries(workload, 300_000);
    const check = await harness.check(workload);

    const warmS = flags.warmup * 60;
    const runS = flags.minutes * 60;
    const tenth = (runS - warmS) / 10;
    const rows = [...series.values()].map((s) => {
      const after = s.samples.filter((x) => x.atS >= warmS);
      const first = after.filter((x) => x.atS < warmS + tenth).map((x) => x.rssBytes);
      const last = after.filter((x) => x.atS >= runS - tenth).map((x) => x.rssBytes);
      const start = mean(first);
      const end = mean(last);
      const fit = linearFit(
        after.map((x) => x.atS / 3600),
        after.map((x) => mib(x.rssBytes)),
      );
      const growth = (end - start) / start;
      return {
        name: s.name,
        product: s.product,
        startMiB: mib(start),
        endMiB: mib(end),
        growth,
        slopeMiBPerHour: fit.slope,
        ok: !s.product || growth <= GROWTH_TARGET,
      };
    });
    console.log('');
    printTable(
      ['process', 'RSS after warm-up MiB', 'RSS at end MiB', 'growth', 'slope MiB/h', 'target ≤ 5 %'],
      rows.map((r) => [
        `${r.name}${r.product ? '' : ' (stand-in/infra)'}`,
        fixed(r.startMiB),
        fixed(r.endMiB),
        `${fixed(r.growth * 100)} %`,
        fixed(r.slopeMiBPerHour),
        r.product ? verdict(r.ok) : 'n/a',
      ]),
    );
    const problems = runViolations(check);
    console.log(
      `\nmessages: ${check.inbound.sent} WhatsApp → GHL (lost ${check.inbound.lost.length}, duplicated ${check.inbound.duplicated.length}), ${check.outbound?.sent ?? 0} GHL → WhatsApp (lost ${check.outbound?.lost.length ?? 0}, duplicated ${check.outbound?.duplicated.length ?? 0}); everything out ${fixed(quiesceMs / 1000)} s after the traffic stopped`,
    );
    for (const problem of problems) console.log(`  ✗ ${problem}`);
    const ok = rows.every((r) => r.ok) && problems.length === 0;
    console.log(`${verdict(ok)}  (${machineLine()})`);
    if (flags.json) {
      writeFileSync(
        flags.json,
        JSON.stringify(
          { machine: machineLine(), flags, rows, series: [...series.values()], problems },
          null,
          1,
        ),
      );
    }
    process.exitCode = ok ? 0 : 1;
  } finally {
    await harness.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
