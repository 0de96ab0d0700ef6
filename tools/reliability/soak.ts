/**
 * Soak: `runSoak` (./soak-run.ts) for a long time, printed. The target is no product process growing
 * more than 5 % after the warm-up, with nothing lost or doubled over the whole run.
 *
 *   npm run soak -- --minutes 30 [--warmup 5] [--sample 10] [--sessions 12] [--contacts 2]
 *        [--rate 20] [--out-rate 4] [--workers 2] [--syncs 2] [--json soak.json] [--log-dir dir]
 *
 * Run under `flock /tmp/bench.lock` on a shared machine. The short variant runs in CI
 * (test/reliability/soak.e2e-spec.ts).
 */
import { writeFileSync } from 'node:fs';
import {
  cleanUpOnInterrupt,
  fixed,
  machineLine,
  parseFlags,
  printTable,
  verdict,
} from '../bench/worker-bench.support';
import { runSoak } from './soak-run';

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

async function main(): Promise<void> {
  if (flags.warmup >= flags.minutes) throw new Error('--warmup must be shorter than --minutes');
  console.log(machineLine());
  console.log(
    `soak: ${flags.minutes} min (warm-up ${flags.warmup} min), ${flags.sessions} numbers × ${flags.contacts} contacts, ${flags.rate} msg/s WhatsApp → GHL, ${flags.outRate} msg/s GHL → WhatsApp; ${flags.workers} workers, ${flags.syncs} syncs; logs in ${flags.logDir}`,
  );
  const result = await runSoak(
    {
      seconds: flags.minutes * 60,
      warmupSeconds: flags.warmup * 60,
      sampleSeconds: flags.sample,
      sessions: flags.sessions,
      contacts: flags.contacts,
      rate: flags.rate,
      outRate: flags.outRate,
      workers: flags.workers,
      syncs: flags.syncs,
      logDir: flags.logDir,
      reportEverySeconds: 60,
      onStarted: (harness) => cleanUpOnInterrupt(() => harness.stop()),
    },
    (line) => console.log(line),
  );
  const { rows, check, problems, quiesceMs } = result;
  const ok = (r: (typeof rows)[number]) => !r.product || r.growth <= GROWTH_TARGET;
  console.log('');
  printTable(
    ['process', 'RSS after warm-up MiB', 'RSS at end MiB', 'growth', 'slope MiB/h', 'target ≤ 5 %'],
    rows.map((r) => [
      `${r.name}${r.product ? '' : ' (stand-in/infra)'}`,
      fixed(r.startMiB),
      fixed(r.endMiB),
      `${fixed(r.growth * 100)} %`,
      fixed(r.slopeMiBPerHour),
      r.product ? verdict(ok(r)) : 'n/a',
    ]),
  );
  console.log(
    `\nmessages: ${check.inbound.sent} WhatsApp → GHL (lost ${check.inbound.lost.length}, duplicated ${check.inbound.duplicated.length}), ${check.outbound?.sent ?? 0} GHL → WhatsApp (lost ${check.outbound?.lost.length ?? 0}, duplicated ${check.outbound?.duplicated.length ?? 0}); everything out ${fixed(quiesceMs / 1000)} s after the traffic stopped`,
  );
  for (const problem of problems) console.log(`  ✗ ${problem}`);
  const passed = rows.every(ok) && problems.length === 0;
  console.log(`${verdict(passed)}  (${machineLine()})`);
  if (flags.json) {
    writeFileSync(
      flags.json,
      JSON.stringify({ machine: machineLine(), flags, rows, series: result.series, problems }, null, 1),
    );
  }
  process.exitCode = passed ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
