import { RELIABILITY_WORKER_ENV, sleep, type SystemHarness } from '@app/testing/reliability/system-harness';
import type { Workload } from '@app/testing/reliability/workload';

/** What a scenario gets while the workload runs. */
export interface ScenarioContext {
  harness: SystemHarness;
  workload: Workload;
  /** The fault window: a scenario should heal everything within it. */
  windowMs: number;
  random: () => number;
  /** Extra figures for the report, e.g. a failover time. */
  note(name: string, value: string): void;
}

export interface Scenario {
  name: string;
  /** One line for the results table and the docs. */
  summary: string;
  /** Injects the fault(s) and heals them; returns when the system was given back its resources. */
  run(ctx: ScenarioContext): Promise<void>;
}

const LEASE_TTL_MS = Number(RELIABILITY_WORKER_ENV.LEASE_TTL_MS);

/** The worker that holds the most sessions right now (the worst one to lose). */
async function busiestWorker(harness: SystemHarness): Promise<string> {
  let best = '';
  let most = -1;
  for (const name of harness.cluster.workers.keys()) {
    const owned = (await harness.ownedBy(harness.instanceId(name))).length;
    if (owned > most) [best, most] = [name, owned];
  }
  return best;
}

/** Kills a worker with `signal`, measures until its sessions are open elsewhere, then starts it again. */
async function loseWorker(ctx: ScenarioContext, signal: NodeJS.Signals): Promise<void> {
  const { harness } = ctx;
  const name = await busiestWorker(harness);
  const oldId = harness.instanceId(name);
  const killedAt = Date.now();
  const owned = await harness.killWorker(name, signal);
  await harness.waitForOpen(owned, 60_000, oldId);
  ctx.note(
    'failover',
    `${owned.length} sessions of ${signal === 'SIGKILL' ? 'kill -9' : signal} ${name} open elsewhere after ${((Date.now() - killedAt) / 1000).toFixed(1)} s`,
  );
  await harness.startWorker(name);
}

/** Sets `apply` on every proxy for `ms`, then clears every proxy's faults. */
async function onProxies(
  ctx: ScenarioContext,
  label: string,
  ms: number,
  apply: (proxy: NonNullable<SystemHarness['proxies']>['nats']) => void,
): Promise<void> {
  const proxies = ctx.harness.proxies;
  if (!proxies) throw new Error('this scenario needs the fault proxies');
  ctx.harness.faults.push({ at: Date.now(), fault: label, detail: `${ms} ms` });
  for (const proxy of Object.values(proxies)) apply(proxy);
  await sleep(ms);
  for (const proxy of Object.values(proxies)) proxy.clearFaults();
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'baseline',
    summary: 'no fault: the same traffic, for comparison',
    run: async () => undefined,
  },
  {
    name: 'worker-kill',
    summary: 'kill -9 of the busiest session worker, restarted once its sessions moved',
    run: (ctx) => loseWorker(ctx, 'SIGKILL'),
  },
  {
    name: 'worker-sigterm',
    summary: 'SIGTERM of the busiest session worker (a rolling deploy), restarted after',
    run: (ctx) => loseWorker(ctx, 'SIGTERM'),
  },
  {
    name: 'worker-pause',
    summary: `SIGSTOP of the busiest worker for 2× the lease TTL (${(2 * LEASE_TTL_MS) / 1000} s), then SIGCONT`,
    run: async (ctx) => {
      const name = await busiestWorker(ctx.harness);
      const owned = await ctx.harness.ownedBy(ctx.harness.instanceId(name));
      await ctx.harness.pause(name, 2 * LEASE_TTL_MS);
      await ctx.harness.waitForOpen(owned, 60_000);
    },
  },
  {
    name: 'sync-kill',
    summary: 'kill -9 of one sync mid-traffic, restarted 5 s later',
    run: async (ctx) => {
      await ctx.harness.killSync('sync-1');
      await sleep(5_000);
      await ctx.harness.startSync('sync-1');
    },
  },
  {
    name: 'sync-pause',
    summary: 'SIGSTOP of one sync for 15 s (past its ack wait: its events go to the other), then SIGCONT',
    run: (ctx) => ctx.harness.pause('sync-1', 15_000),
  },
  {
    name: 'nats-restart',
    summary: 'NATS stopped for 5 s and started again on its JetStream store',
    run: (ctx) => ctx.harness.restartNats(5_000),
  },
  {
    name: 'postgres-restart',
    summary: 'Postgres crashed (immediate stop) and back after 5 s',
    run: async (ctx) => {
      await ctx.harness.restartPostgres(5_000, 'immediate');
      await ctx.harness.waitForOpen(
        ctx.harness.sessions.map((s) => s.locationId),
        60_000,
      );
    },
  },
  {
    name: 'proxy-latency',
    summary: '150 ± 100 ms added to every packet to and from NATS, Postgres and GHL for 20 s',
    run: (ctx) => onProxies(ctx, 'latency 150±100 ms', 20_000, (p) => p.setLatency(150, 100)),
  },
  {
    name: 'proxy-partition',
    summary: 'NATS, Postgres and GHL unreachable (packets held, connections open) for 8 s',
    run: async (ctx) => {
      await onProxies(ctx, 'partition', 8_000, (p) => p.partition());
      await ctx.harness.waitForOpen(
        ctx.harness.sessions.map((s) => s.locationId),
        60_000,
      );
    },
  },
  {
    name: 'proxy-resets',
    summary: 'every connection to NATS, Postgres and GHL reset every 2 s for 16 s',
    run: async (ctx) => {
      const proxies = ctx.harness.proxies;
      if (!proxies) throw new Error('this scenario needs the fault proxies');
      for (let i = 0; i < 8; i++) {
        const n = Object.values(proxies).reduce((sum, p) => sum + p.resetAll(), 0);
        ctx.harness.faults.push({ at: Date.now(), fault: 'reset connections', detail: `${n}` });
        await sleep(2_000);
      }
    },
  },
  {
    name: 'ghl-5xx',
    summary: 'GHL answers every call 503 for 15 s',
    run: async (ctx) => {
      await ctx.harness.ghlStorm('5xx', 15_000, 503);
      await sleep(15_000);
    },
  },
  {
    name: 'ghl-429',
    summary: 'GHL answers every call 429 (limit exhausted) for 15 s',
    run: async (ctx) => {
      await ctx.harness.ghlStorm('429', 15_000);
      await sleep(15_000);
    },
  },
  {
    name: 'wa-faults',
    summary:
      'WhatsApp closes 30 % of sessions with 440, then 515, then 428; then logs 10 % out (401) and they are linked again',
    run: async (ctx) => {
      for (const kind of ['replaced', 'restart', 'drop'] as const) {
        await ctx.harness.waFault(kind, 30);
        await sleep(4_000);
      }
      const loggedOut = await ctx.harness.waFault('logged_out', 10, ctx.workload);
      ctx.note('401', `${loggedOut.length} sessions logged out and linked again`);
      await ctx.harness.relink(loggedOut, ctx.workload);
    },
  },
  {
    name: 'chaos',
    summary:
      'a random fault every 6 s (seeded): kills, pauses, NATS/Postgres restarts, proxy faults, GHL storms, WhatsApp closes',
    run: async (ctx) => {
      const { harness } = ctx;
      const waKinds = ['replaced', 'restart', 'drop'] as const;
      const faults: [string, () => Promise<unknown>][] = [
        ['kill -9 worker', () => loseWorker(ctx, 'SIGKILL')],
        [
          'kill -9 sync',
          async () => {
            await harness.killSync('sync-1');
            await sleep(3_000);
            await harness.startSync('sync-1');
          },
        ],
        ['pause sync', () => harness.pause('sync-2', 5_000)],
        ['NATS restart', () => harness.restartNats(3_000)],
        ['Postgres restart', () => harness.restartPostgres(2_000, 'fast')],
        ['resets', () => onProxies(ctx, 'reset connections', 0, (p) => p.resetAll())],
        ['latency', () => onProxies(ctx, 'latency 100±50 ms', 5_000, (p) => p.setLatency(100, 50))],
        ['GHL 503', () => harness.ghlStorm('5xx', 5_000, 503).then(() => sleep(5_000))],
        ['GHL 429', () => harness.ghlStorm('429', 5_000).then(() => sleep(5_000))],
        ['WhatsApp 440/515/428', () => harness.waFault(waKinds[Math.floor(ctx.random() * 3)], 25)],
      ];
      const until = Date.now() + ctx.windowMs;
      const picked: string[] = [];
      while (Date.now() < until) {
        const [label, fault] = faults[Math.floor(ctx.random() * faults.length)];
        picked.push(label);
        await fault();
        await sleep(6_000);
      }
      ctx.note('faults', picked.join(', '));
      await harness.waitForOpen(
        harness.sessions.map((s) => s.locationId),
        60_000,
      );
    },
  },
];
