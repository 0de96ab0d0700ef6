/**
 * Fault scenarios against the whole system, each on a fresh system: every app a built process (three
 * session workers, two syncs, the api), both sandboxes, a private NATS and a private Postgres, with
 * fault proxies in front of NATS, Postgres and GHL. Traffic flows both ways during each scenario;
 * afterwards the checkers compare what went in with what came out.
 *
 *   npm run reliability -- --scenario <name>|all [--duration 60] [--sessions 12] [--contacts 2]
 *        [--rate 20] [--out-rate 4] [--workers 3] [--syncs 2] [--seed 1] [--json results.json]
 *
 * Run under `flock /tmp/bench.lock` on a shared machine. Process logs go to --log-dir (default
 * /tmp/reliability-<time>), one folder per scenario.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runViolations, SystemHarness, sleep, type RunCheck } from '@app/testing/reliability/system-harness';
import {
  cleanUpOnInterrupt,
  machineLine,
  parseFlags,
  printTable,
  seededRandom,
  verdict,
} from '../bench/worker-bench.support';
import { SCENARIOS, type Scenario } from './scenarios';
import type { Workload } from '@app/testing/reliability/workload';

const USAGE = `npm run reliability -- --scenario <${SCENARIOS.map((s) => s.name).join('|')}|all> [--duration 60] [--sessions 12] [--contacts 2] [--rate 20] [--out-rate 4] [--workers 3] [--syncs 2] [--seed 1] [--json file] [--log-dir dir]`;

const flags = parseFlags(
  process.argv.slice(2),
  {
    scenario: '',
    duration: 60,
    sessions: 12,
    contacts: 2,
    rate: 20,
    outRate: 4,
    workers: 3,
    syncs: 2,
    seed: 1,
    quiesce: 180,
    json: '',
    logDir: `/tmp/reliability-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  },
  USAGE,
);

interface ScenarioResult {
  scenario: string;
  summary: string;
  check?: RunCheck;
  notes: Record<string, string>;
  faults: { at: number; fault: string; detail?: string }[];
  /** Seconds from the end of traffic until everything sent came out (or the quiesce limit). */
  quiesceS: number;
  inboundRate: number;
  outboundRate: number;
  problems: string[];
  loadBefore: string;
  loadAfter: string;
  /** Each message that did not come out as it should: how it went in, and when relative to the first fault. */
  diagnostics?: Record<string, unknown>;
  /** WhatsApp → GHL messages written after a later one of their chat (GHL still shows them by date). */
  arrivalInversions?: number;
  findings?: { key: string; kind: string; entry: string; locationId: string; sentAfterFaultS: number }[];
  error?: string;
}

/** The records behind the lost, duplicated and reordered keys, for a post-mortem. */
function findings(check: RunCheck, workload: Workload, faultAt: number): ScenarioResult['findings'] {
  const records = new Map([...workload.inbound, ...workload.outbound].map((r) => [r.key, r]));
  const rows: NonNullable<ScenarioResult['findings']> = [];
  for (const [direction, report] of [
    ['in', check.inbound],
    ['out', check.outbound],
  ] as const) {
    if (!report) continue;
    const add = (kind: string, key: string) => {
      const r = records.get(key);
      if (r)
        rows.push({
          key,
          kind: `${direction} ${kind}`,
          entry: r.entry,
          locationId: r.locationId,
          sentAfterFaultS: (r.sentAt - faultAt) / 1000,
        });
    };
    for (const key of report.lost) add('lost', key);
    for (const { key } of report.duplicated) add('duplicated', key);
    for (const { key } of report.reordered) add('reordered', key);
  }
  return rows;
}

let current: SystemHarness | undefined;
cleanUpOnInterrupt(async () => current?.stop());

async function runScenario(scenario: Scenario, index: number): Promise<ScenarioResult> {
  const notes: Record<string, string> = {};
  const loadBefore = readLoad();
  const harness = await SystemHarness.start({
    workers: flags.workers,
    syncs: flags.syncs,
    privatePostgres: true,
    proxies: true,
    logDir: join(flags.logDir, scenario.name),
  });
  current = harness;
  const stop = () => harness.stop();
  try {
    await harness.link(SystemHarness.sessionSpecs(flags.sessions));
    const workload = await harness.warmWorkload(flags.contacts, {
      inboundPerSecond: flags.rate,
      outboundPerSecond: flags.outRate,
      runTag: `r${index}`,
    });
    const durationMs = flags.duration * 1000;
    const trafficStarted = Date.now();
    workload.start();
    // A fifth of the run before the fault, and at least a fifth after it, under the same traffic.
    await sleep(durationMs / 5);
    await scenario.run({
      harness,
      workload,
      windowMs: (durationMs * 3) / 5,
      random: seededRandom(flags.seed + index),
      note: (name, value) => (notes[name] = value),
    });
    const remaining = trafficStarted + durationMs - Date.now();
    if (remaining > 0) await sleep(remaining);
    await workload.stop();
    const trafficS = (Date.now() - trafficStarted) / 1000;
    const quiesceMs = await harness.waitForDeliveries(workload, flags.quiesce * 1000);
    // Sessions a fault closed get the same time to come back before they are counted.
    await harness
      .waitForOpen(
        harness.sessions.map((s) => s.locationId),
        30_000,
      )
      .catch(() => undefined);
    const check = await harness.check(workload);
    const warmUp = workload.chats.length;
    return {
      scenario: scenario.name,
      summary: scenario.summary,
      check,
      notes,
      faults: harness.faults,
      quiesceS: quiesceMs / 1000,
      inboundRate: (workload.inbound.length - warmUp) / trafficS,
      outboundRate: workload.outbound.length / trafficS,
      // Order is reported (the table's "reord" columns), not a target of #9: see docs/RELIABILITY.md.
      problems: runViolations(check, { order: false }),
      findings: findings(check, workload, harness.faults[0]?.at ?? trafficStarted),
      diagnostics: runViolations(check).length ? await harness.diagnostics() : undefined,
      arrivalInversions: check.arrivalInversions,
      loadBefore,
      loadAfter: readLoad(),
    };
  } catch (error) {
    return {
      scenario: scenario.name,
      summary: scenario.summary,
      notes,
      faults: harness.faults,
      quiesceS: NaN,
      inboundRate: NaN,
      outboundRate: NaN,
      problems: [`the run failed: ${error instanceof Error ? error.message : String(error)}`],
      loadBefore,
      loadAfter: readLoad(),
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  } finally {
    await stop().catch((error: unknown) => console.error('stopping the system failed:', error));
  }
}

function readLoad(): string {
  return machineLine()
    .replace(/^.*loadavg /, '')
    .replace(/ \(.*$/, '');
}

function excusedCount(check: RunCheck | undefined): number {
  if (!check) return 0;
  const count = (r: RunCheck['inbound'] | undefined) =>
    Object.values(r?.excused ?? {}).reduce((n, keys) => n + keys.length, 0);
  return count(check.inbound) + count(check.outbound);
}

async function main(): Promise<void> {
  const chosen = flags.scenario === 'all' ? SCENARIOS : SCENARIOS.filter((s) => s.name === flags.scenario);
  if (chosen.length === 0) throw new Error(`unknown scenario "${flags.scenario}"\n${USAGE}`);
  console.log(machineLine());
  console.log(
    `system: ${flags.workers} session workers, ${flags.syncs} syncs, 1 api, WhatsApp and GHL sandboxes, private NATS 2.9 and Postgres, proxies in front of NATS/Postgres/GHL`,
  );
  console.log(
    `traffic: ${flags.sessions} numbers × ${flags.contacts} contacts, ${flags.rate} msg/s WhatsApp → GHL, ${flags.outRate} msg/s GHL → WhatsApp, ${flags.duration} s per scenario; logs in ${flags.logDir}\n`,
  );
  const results: ScenarioResult[] = [];
  for (const [index, scenario] of chosen.entries()) {
    console.log(`▶ ${scenario.name}: ${scenario.summary}`);
    const result = await runScenario(scenario, index);
    results.push(result);
    for (const [name, value] of Object.entries(result.notes)) console.log(`    ${name}: ${value}`);
    for (const problem of result.problems) console.log(`    ✗ ${problem}`);
    if (result.error) console.log(result.error);
    console.log(
      `    ${verdict(result.problems.length === 0)} (load ${result.loadBefore} → ${result.loadAfter})`,
    );
  }

  console.log('');
  printTable(
    [
      'scenario',
      'WA→GHL sent',
      'lost',
      'dup',
      'reord',
      'GHL→WA sent',
      'lost',
      'dup',
      'reord',
      'excused',
      'double conn',
      'self 440',
      'not open',
      'quiesce s',
      'verdict',
    ],
    results.map((r) => {
      const c = r.check;
      return [
        r.scenario,
        c?.inbound.sent ?? '-',
        c?.inbound.lost.length ?? '-',
        c?.inbound.duplicated.length ?? '-',
        c?.inbound.reordered.length ?? '-',
        c?.outbound?.sent ?? '-',
        c?.outbound?.lost.length ?? '-',
        c?.outbound?.duplicated.length ?? '-',
        c?.outbound?.reordered.length ?? '-',
        excusedCount(c),
        c?.sessions.doubleConnections ?? '-',
        c?.sessions.selfInflicted440s ?? '-',
        c?.sessions.notOpen.length ?? '-',
        Number.isFinite(r.quiesceS) ? r.quiesceS.toFixed(1) : '-',
        verdict(r.problems.length === 0),
      ];
    }),
  );
  if (flags.json) {
    writeFileSync(flags.json, JSON.stringify({ machine: machineLine(), flags, results }, null, 2));
    console.log(`\nresults written to ${flags.json}`);
  }
  process.exit(results.every((r) => r.problems.length === 0) ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
