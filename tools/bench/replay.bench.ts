/**
 * Measures the replay tool against the built sync app (a separate process, as in production) and the
 * GHL sandbox (its own process too):
 *
 *   1. replay throughput: the EVENTS stream holds ≥ 100,000 events across 100 locations; one
 *      location's day is selected (by location and a 24 h window) and replayed through the replay
 *      subject; events/s from the first send to the last outcome, and the selection's read alone;
 *   2. the latency impact on live traffic: live WhatsApp messages at a fixed rate over other
 *      locations, publish → GHL sandbox receipt, p50/p99 without a replay, and while replays of that
 *      day run back to back at full speed, then capped (`--rate`, as an operator would on a busy day).
 *
 *   npm run bench:replay -- [--events 100000] [--locations 100] [--day 2000] [--live-rate 50]
 *                           [--live-seconds 20] [--capped-rate 200]
 *
 * Run it as `flock /tmp/bench.lock npm run bench:replay` so that benchmarks never overlap.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseEnv, syncConfigSchema } from '@app/config';
import { REPLAYABLE_EVENT_TYPES, type EventPayload, type EventType } from '@app/contracts';
import { GhlSandboxAdminClient } from '@app/ghl-sandbox-client';
import {
  BusUnavailableError,
  EventBus,
  MessagingConnection,
  ReplayOutcomeChannel,
  STREAMS,
  StreamProvisioner,
} from '@app/messaging';
import { createDataSource, SecretBox } from '@app/persistence';
import { freePort, startNatsServer } from '@app/testing';
import { AppProcess, waitForHttp } from '@app/testing/app-process';
import { createTestDatabase } from '@app/testing/postgres';
import { pino } from 'pino';
import { Sql } from '../../apps/sync/src/db/sql';
import { InstallationRepository, TokenRepository } from '../../apps/sync/src/tokens/token.repository';
import type { EventSelection } from '../replay/replay-command';
import { ReplayRun, type ReplayReport } from '../replay/replay-run';
import { replayPublisher, selectedEvents } from '../replay/replay-sources';

interface Options {
  events: number;
  locations: number;
  day: number;
  liveRate: number;
  liveSeconds: number;
  cappedRate: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    events: 100_000,
    locations: 100,
    day: 2_000,
    liveRate: 50,
    liveSeconds: 20,
    cappedRate: 200,
  };
  const names: Record<string, keyof Options> = {
    '--events': 'events',
    '--locations': 'locations',
    '--day': 'day',
    '--live-rate': 'liveRate',
    '--live-seconds': 'liveSeconds',
    '--capped-rate': 'cappedRate',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    const value = Number(argv[i + 1]);
    if (!key || !Number.isInteger(value) || value < 1) {
      throw new Error(
        `bad argument ${argv[i]} ${argv[i + 1]}; see the header of tools/bench/replay.bench.ts`,
      );
    }
    options[key] = value;
  }
  if (options.locations < 12) throw new Error('--locations must be at least 12 (1 replayed, 10 live)');
  return options;
}

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const fmt = (n: number, digits = 1) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '-';
const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
const DAY_MS = 86_400_000;

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const logger = pino({ level: 'warn' });
  const rows: [string, string][] = [];
  const cpu = cpus();
  rows.push([
    'machine',
    `${cpu.length} cores (${cpu[0]?.model.trim() ?? '?'}), ${fmt(totalmem() / 2 ** 30, 0)} GiB, load at start ${load()}`,
  ]);

  // ---- infrastructure: NATS, a throwaway database, the GHL sandbox and the sync as processes ----
  const nats = await startNatsServer();
  const db = await createTestDatabase('replay_bench_test');
  const dataSource = createDataSource(db.url);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  const sandboxPort = await freePort();
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const sandbox = AppProcess.start({
    app: 'ghl-sandbox',
    env: {
      PORT: String(sandboxPort),
      LOG_LEVEL: 'silent',
      // The sync's own speed is measured, not GHL's limits.
      RATE_LIMIT_MAX: '100000000',
      RATE_LIMIT_INTERVAL_MS: '10000',
      RATE_LIMIT_DAILY: '100000000',
    },
  });
  await waitForHttp(`${sandboxUrl}/health/ready`, 200, 60_000);
  const admin = new GhlSandboxAdminClient(sandboxUrl, 'sandbox-admin-token');
  const provider = await admin.createProvider({
    deliveryUrl: 'http://127.0.0.1:9/provider',
    name: 'WhatsApp',
  });

  const sql = new Sql(dataSource);
  const tokens = new TokenRepository(
    sql,
    SecretBox.fromBase64(parseEnv(syncConfigSchema, {}).ENCRYPTION_KEY),
  );
  const installations = new InstallationRepository(sql);
  const runId = Date.now().toString(36);
  const locations: string[] = [];
  for (let l = 0; l < options.locations; l++) {
    const locationId = `rb${runId}l${l}`;
    await admin.createLocation({ id: locationId });
    const pair = await admin.issueTokens({ locationId });
    await tokens.write('location', locationId, {
      accessToken: pair.access_token,
      refreshToken: pair.refresh_token,
      expiresAt: new Date(Date.now() + 86_000_000),
      scopes: pair.scope,
      userType: 'Location',
      kind: 'oauth',
    });
    await installations.markInstalled(locationId, { companyId: null, installType: 'Location' });
    locations.push(locationId);
  }
  const [target, ...others] = locations;
  const liveLocations = others.slice(0, 10);

  const connection = await MessagingConnection.connect({ servers: nats.url, name: 'replay-bench', logger });
  await new StreamProvisioner(connection, logger).ensureStreams();
  const bus = new EventBus(connection, logger);
  const syncPort = await freePort();
  const sync = AppProcess.start({
    app: 'sync',
    env: {
      NODE_ENV: 'test',
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      HTTP_PORT: String(syncPort),
      GHL_API_BASE_URL: sandboxUrl,
      GHL_CONVERSATION_PROVIDER_ID: provider.id,
      GHL_RATE_LIMIT_ENABLED: 'false',
      LOG_LEVEL: 'error',
    },
  });
  await waitForHttp(`http://127.0.0.1:${syncPort}/health/ready`, 200, 60_000);

  let published = 0;
  const publish = async <T extends EventType>(
    type: T,
    locationId: string,
    payload: EventPayload<T>,
    id: string,
  ) => {
    // A publish that timed out on a busy machine is retried with the same id (stored once).
    for (let attempt = 1; ; attempt++) {
      try {
        await bus.publish(type, locationId, payload, { id });
        published += 1;
        return;
      } catch (err) {
        if (!(err instanceof BusUnavailableError) || attempt >= 5) throw err;
      }
    }
  };
  const party = (n: number) => {
    const phone = `+1555${String(n).padStart(8, '0')}`;
    return { phone, jid: `${phone.slice(1)}@s.whatsapp.net`, lid: null, pushName: `Chat ${n}` };
  };
  const inbound = (chat: number, waMessageId: string, text: string): EventPayload<'message.inbound'> => {
    const from = party(chat);
    return {
      waMessageId,
      chatJid: from.jid,
      from,
      sentAt: new Date().toISOString(),
      content: { kind: 'text', text },
    };
  };

  try {
    // ---- fill: the target location's day, and background traffic of the other locations ----
    const fillStarted = performance.now();
    const jobs: (() => Promise<void>)[] = [];
    let targetInbound = 0;
    // Per 10 events of the day: 6 messages in, 3 receipts of the last of them (same chat), 1 contact.
    const chatOf = (i: number) => 10_000 + (Math.floor(i / 10) % 50);
    for (let i = 0; i < options.day; i++) {
      const chat = chatOf(i);
      const kind = i % 10;
      if (kind < 6) {
        targetInbound += 1;
        jobs.push(() =>
          publish('message.inbound', target, inbound(chat, `RB${runId}T${i}`, `day ${i}`), `rb-t-${i}`),
        );
      } else if (kind < 9) {
        const received = i - (kind - 5);
        const status = { waMessageId: `RB${runId}T${received}`, chatJid: party(chat).jid, error: null };
        jobs.push(() =>
          publish(
            'message.status',
            target,
            { ...status, status: 'delivered', at: new Date().toISOString() },
            `rb-t-${i}`,
          ),
        );
      } else {
        jobs.push(() =>
          publish('contact.upserted', target, { ...party(chat), source: 'message' }, `rb-t-${i}`),
        );
      }
    }
    // Background: what a busy deployment stores beside messages (receipts, contacts, session changes),
    // cheap for sync, so the fill measures the stream and not GHL.
    for (let i = 0; jobs.length < Math.max(options.events, options.day + 1); i++) {
      const locationId = others[i % others.length];
      const chat = 20_000 + (i % 997);
      switch (i % 3) {
        case 0:
          jobs.push(() =>
            publish(
              'message.status',
              locationId,
              {
                waMessageId: `RB${runId}B${i}`,
                chatJid: party(chat).jid,
                status: 'sent',
                error: null,
                at: new Date().toISOString(),
              },
              `rb-b-${i}`,
            ),
          );
          break;
        case 1:
          jobs.push(() =>
            publish('contact.upserted', locationId, { ...party(chat), source: 'contacts_sync' }, `rb-b-${i}`),
          );
          break;
        default:
          jobs.push(() =>
            publish(
              'session.state_changed',
              locationId,
              {
                state: 'open',
                previous: 'reconnecting',
                code: 428,
                reason: 'reconnected',
                workerId: 'bench',
              },
              `rb-b-${i}`,
            ),
          );
      }
    }
    // Interleaved, as real traffic is: the target's events are spread through the stream.
    const stride = Math.max(1, Math.floor(jobs.length / options.day));
    const ordered: (() => Promise<void>)[] = [];
    const targetJobs = jobs.slice(0, options.day);
    const backgroundJobs = jobs.slice(options.day);
    for (let i = 0, t = 0; i < backgroundJobs.length || t < targetJobs.length; i++) {
      if (i % stride === 0 && t < targetJobs.length) ordered.push(targetJobs[t++]);
      if (i < backgroundJobs.length) ordered.push(backgroundJobs[i]);
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: 256 }, async () => {
        while (next < ordered.length) await ordered[next++]();
      }),
    );
    const jsm = await connection.jsm();
    const stream = await jsm.streams.info(STREAMS.events);
    rows.push([
      'stream',
      `${stream.state.messages.toLocaleString('en-US')} events across ${options.locations} locations, published in ${fmt((performance.now() - fillStarted) / 1000)} s`,
    ]);
    // The target's messages are in GHL (a replay of them is the idempotent re-run an operator does).
    await waitUntil(async () => (await admin.counts(target)).messages.inbound >= targetInbound, 600_000);
    await waitUntil(async () => {
      const info = await jsm.consumers.info(STREAMS.events, 'sync-messages');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 600_000);

    // ---- 1. replay throughput of one location's day ----
    const selection: EventSelection = {
      locationId: target,
      since: new Date(Date.now() - DAY_MS),
      until: new Date(),
      types: [...REPLAYABLE_EVENT_TYPES],
    };
    const readStarted = performance.now();
    let selected = 0;
    for await (const item of selectedEvents(connection, selection)) selected += item.envelope ? 1 : 0;
    const readSeconds = (performance.now() - readStarted) / 1000;
    rows.push([
      'selection read',
      `${selected} events of one location's day out of ${stream.state.messages.toLocaleString('en-US')}: ${fmt(readSeconds, 2)} s (${fmt(selected / readSeconds, 0)} events/s), load ${load()}`,
    ]);
    const channel = new ReplayOutcomeChannel(connection);
    const replayOnce = (rate = 0): Promise<ReplayReport> =>
      new ReplayRun(
        { subscribe: (id, onOutcome) => channel.subscribe(id, onOutcome), send: replayPublisher(bus) },
        { waitMs: 120_000, rate },
      ).run(selectedEvents(connection, { ...selection, until: new Date() }));
    const requestsBefore = (await admin.counts(target)).requestsByOperation['add-an-inbound-message'] ?? 0;
    const reports: ReplayReport[] = [];
    for (let i = 0; i < 3; i++) reports.push(await replayOnce());
    const throughputs = reports.map((r) => r.throughput).sort((a, b) => a - b);
    const first = reports[0];
    rows.push([
      'replay throughput',
      `${fmt(throughputs[1], 0)} events/s median of 3 runs (${throughputs.map((t) => fmt(t, 0)).join(', ')}); ` +
        `${first.sent} events per run, ${fmt(first.elapsedMs / 1000, 2)} s end to end, load ${load()}`,
    ]);
    rows.push([
      'replay outcomes',
      `applied ${first.counts.applied}, skipped ${first.counts.skipped}, failed ${first.counts.failed}, no outcome ${first.counts.no_outcome}; ` +
        `GHL writes caused: ${((await admin.counts(target)).requestsByOperation['add-an-inbound-message'] ?? 0) - requestsBefore}`,
    ]);

    // ---- 2. live latency without and with a replay running ----
    const liveChats = liveLocations.flatMap((locationId, l) =>
      [0, 1].map((c) => ({ locationId, chat: 30_000 + l * 2 + c })),
    );
    let seq = 0;
    const sentAt = new Map<string, number>();
    const sendLive = async (chat: { locationId: string; chat: number }, text: string) => {
      seq += 1;
      const id = `RB${runId}L${seq}`;
      sentAt.set(id, Date.now());
      await publish('message.inbound', chat.locationId, inbound(chat.chat, id, text), `rb-l-${seq}`);
      return id;
    };
    await Promise.all(liveChats.map((chat) => sendLive(chat, 'warm-up')));
    await waitUntil(async () => {
      for (const locationId of liveLocations)
        if ((await admin.counts(locationId)).messages.inbound < 2) return false;
      return true;
    }, 60_000);

    const livePhase = async (): Promise<number[]> => {
      const ids: string[] = [];
      const started = performance.now();
      const total = options.liveRate * options.liveSeconds;
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < total; i++) {
        const wait = started + (i * 1000) / options.liveRate - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        sends.push(sendLive(liveChats[i % liveChats.length], `live ${i}`).then((id) => ids.push(id)));
      }
      await Promise.all(sends);
      const received = new Map<string, number>();
      await waitUntil(async () => {
        for (const locationId of liveLocations) {
          for (const m of await admin.messages({ locationId, direction: 'inbound' })) {
            if (m.altId && !received.has(m.altId)) received.set(m.altId, Date.parse(m.dateUpdated));
          }
        }
        return ids.every((id) => received.has(id));
      }, 120_000);
      return ids.map((id) => received.get(id)! - sentAt.get(id)!).sort((a, b) => a - b);
    };

    const quiet = await livePhase();
    rows.push([
      'live, no replay',
      `${quiet.length} messages at ${options.liveRate}/s: p50 ${fmt(quantile(quiet, 0.5))} ms, p99 ${fmt(quantile(quiet, 0.99))} ms, max ${fmt(quiet.at(-1) ?? NaN)} ms, load ${load()}`,
    ]);

    // Replays of the day back to back for the whole live phase: at full speed, then capped with --rate.
    const underReplay = async (label: string, rate: number) => {
      let replaying = true;
      const during: ReplayReport[] = [];
      const replayLoop = (async () => {
        while (replaying) during.push(await replayOnce(rate));
      })();
      const busy = await livePhase();
      replaying = false;
      await replayLoop;
      const replayed = during.reduce((n, r) => n + r.sent, 0);
      const replaySeconds = during.reduce((n, r) => n + r.elapsedMs, 0) / 1000;
      rows.push([
        `live, ${label}`,
        `${busy.length} messages at ${options.liveRate}/s: p50 ${fmt(quantile(busy, 0.5))} ms, p99 ${fmt(quantile(busy, 0.99))} ms, max ${fmt(busy.at(-1) ?? NaN)} ms, load ${load()}`,
      ]);
      rows.push([
        `  its replay`,
        `${during.length} runs, ${replayed} events in ${fmt(replaySeconds)} s (${fmt(replayed / replaySeconds, 0)} events/s)`,
      ]);
    };
    await underReplay('replay at full speed', 0);
    await underReplay(`replay --rate ${options.cappedRate}`, options.cappedRate);
    const duplicates = (
      await Promise.all(
        liveLocations.concat(target).map(async (id) => (await admin.counts(id)).duplicateAltIds.length),
      )
    ).reduce((a, b) => a + b, 0);
    rows.push(['duplicates in GHL', `${duplicates} (live and replayed locations)`]);
  } finally {
    await sync.stop('SIGTERM');
    await connection.drain(2_000);
    await sandbox.stop('SIGTERM');
    await dataSource.destroy();
    await nats.stop();
    await db.drop();
  }

  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nreplay benchmark (published ${published.toLocaleString('en-US')} events)`);
  for (const [key, value] of rows) console.log(`  ${key.padEnd(width)}  ${value}`);
}

/** Polls `check` until it holds (bounded). */
async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
