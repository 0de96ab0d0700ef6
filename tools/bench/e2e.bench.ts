/**
 * End-to-end latency through the whole system at a fixed rate (open loop): a contact's phone writes
 * (WhatsApp sandbox) → session worker (real Baileys decrypts it) → NATS JetStream → sync → GHL
 * sandbox. Every app is a built process; the machine's Postgres and a private NATS.
 *
 *   npm run bench:e2e -- [--rate 200] [--seconds 30] [--sessions 50] [--contacts 2] [--workers 2]
 *        [--syncs 2] [--out-rate 0]
 *
 * A message's latency runs from just before the phone's send (the sandbox admin call) to the GHL
 * sandbox storing it (its `dateUpdated`; every process reads the same clock). The bus time (when the
 * bench's own subscriber saw `message.inbound`) splits it into WhatsApp → bus and bus → GHL. Every chat
 * has sent a message before the measurement, so contacts and conversations exist (one GHL call per
 * message, as in a running deployment), and GHL's real limits (100 / 10 s per location) apply: the
 * rate is spread over enough locations to stay inside them. With --out-rate, GHL users also reply
 * (GHL → WhatsApp latency: from the sandbox admin call to the phone's outbox). Run under
 * `flock /tmp/bench.lock`.
 */
import type { EventEnvelope } from '@app/contracts';
import { SystemHarness, sleep } from '@app/testing/reliability/system-harness';
import {
  cleanUpOnInterrupt,
  fixed,
  machineLine,
  parseFlags,
  percentile,
  printTable,
  procSample,
  verdict,
} from './worker-bench.support';

const USAGE =
  'npm run bench:e2e -- [--rate 200] [--seconds 30] [--sessions 50] [--contacts 2] [--workers 2] [--syncs 2] [--out-rate 0]';
const flags = parseFlags(
  process.argv.slice(2),
  { rate: 200, seconds: 30, sessions: 50, contacts: 2, workers: 2, syncs: 2, outRate: 0, logDir: '' },
  USAGE,
);

function row(label: string, values: number[], target?: { p50: number; p99: number }) {
  const p50 = percentile(values, 50);
  const p99 = percentile(values, 99);
  return [
    label,
    values.length,
    fixed(p50),
    fixed(percentile(values, 95)),
    fixed(p99),
    fixed(Math.max(...values)),
    target
      ? `${verdict(p50 <= target.p50 && p99 <= target.p99)} (p50 ≤ ${target.p50}, p99 ≤ ${target.p99})`
      : '',
  ];
}

async function main(): Promise<void> {
  console.log(machineLine());
  const perLocationPer10s = (flags.rate / flags.sessions) * 10;
  if (perLocationPer10s > 80)
    throw new Error(
      `${flags.rate} msg/s over ${flags.sessions} locations is ${fixed(perLocationPer10s)} per 10 s each: more sessions, or GHL's limit (100 / 10 s) sets the pace`,
    );
  const harness = await SystemHarness.start({
    workers: flags.workers,
    syncs: flags.syncs,
    ...(flags.logDir ? { logDir: flags.logDir } : {}),
  });
  cleanUpOnInterrupt(() => harness.stop());
  try {
    const linkStarted = Date.now();
    await harness.link(SystemHarness.sessionSpecs(flags.sessions, 'e2eLoc'), 300_000);
    console.log(`${flags.sessions} sessions linked in ${fixed((Date.now() - linkStarted) / 1000)} s`);
    const workload = await harness.warmWorkload(flags.contacts, {
      inboundPerSecond: flags.rate,
      outboundPerSecond: flags.outRate,
      runTag: 'e2e',
    });
    // The warm-up's GHL calls leave the rate window before the measurement.
    await sleep(11_000);

    const busAt = new Map<string, number>();
    const stopWatching = harness.cluster.onEvent((event: EventEnvelope, at) => {
      if (event.type === 'message.inbound') busAt.set(event.payload.waMessageId, at);
    });
    const warmedUp = workload.inbound.length;
    const cpuBefore = new Map(harness.processes().map((p) => [p.name, procSample(p.pid)]));
    const started = Date.now();
    workload.start();
    await sleep(flags.seconds * 1000);
    await workload.stop();
    const sendingS = (Date.now() - started) / 1000;
    const cpuAfter = new Map(harness.processes().map((p) => [p.name, procSample(p.pid)]));
    const quiesceMs = await harness.waitForDeliveries(workload, 180_000);
    stopWatching();

    const measured = workload.inbound.slice(warmedUp);
    const stored = new Map(
      (await harness.ghl.messages({ direction: 'inbound' })).map((m) => [m.altId, Date.parse(m.dateUpdated)]),
    );
    const total: number[] = [];
    const toBus: number[] = [];
    const fromBus: number[] = [];
    for (const record of measured) {
      const at = stored.get(record.key);
      if (at === undefined) continue;
      total.push(at - record.sentAt);
      const bus = busAt.get(record.key);
      if (bus !== undefined) {
        toBus.push(bus - record.sentAt);
        fromBus.push(at - bus);
      }
    }
    const outbound: number[] = [];
    if (flags.outRate > 0) {
      const sentAt = new Map(workload.outbound.map((r) => [r.key, r.sentAt]));
      for (const session of harness.sessions) {
        for (const item of await harness.wa.outboxAll(session.phone)) {
          const t0 = item.kind === 'message' && item.text ? sentAt.get(item.text) : undefined;
          if (t0 !== undefined) outbound.push(Date.parse(item.at) - t0);
        }
      }
    }
    const check = await harness.check(workload);

    console.log(
      `\nsent ${measured.length} WhatsApp → GHL messages in ${fixed(sendingS)} s (${fixed(measured.length / sendingS)}/s, target ${flags.rate}/s) over ${workload.chats.length} chats of ${flags.sessions} numbers; ${flags.workers} workers, ${flags.syncs} syncs; all stored ${fixed(quiesceMs / 1000)} s after the last send`,
    );
    printTable(
      ['latency ms', 'n', 'p50', 'p95', 'p99', 'max', 'target'],
      [
        row('WhatsApp → GHL (end to end)', total, { p50: 20, p99: 100 }),
        row('  phone → bus (worker)', toBus),
        row('  bus → GHL (sync)', fromBus),
        ...(outbound.length ? [row('GHL → WhatsApp (phone outbox)', outbound)] : []),
      ],
    );
    console.log('');
    printTable(
      ['process', 'CPU % of one core while sending'],
      [...cpuAfter].map(([name, after]) => {
        const before = cpuBefore.get(name);
        const cpu = before ? ((after.cpuSeconds - before.cpuSeconds) / sendingS) * 100 : NaN;
        return [name, fixed(cpu)];
      }),
    );
    console.log(
      `\nchecks: lost ${check.inbound.lost.length}, duplicated ${check.inbound.duplicated.length}, double connections ${check.sessions.doubleConnections}`,
    );
    console.log(machineLine());
  } finally {
    await harness.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
