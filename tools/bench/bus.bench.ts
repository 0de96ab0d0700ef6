/**
 * Compares the messaging library with the raw nats.js client on the same server, stream and message
 * shape: N events published with a bounded in-flight window and handled by a durable pull consumer.
 *
 *   npm run bench:bus -- --n 20000 [--window 256] [--batch 256] [--concurrency 16] [--warmup 2000] [--rounds 3]
 *
 * Each round runs both sides (alternating which goes first); the table shows the median of each
 * figure over the rounds, because a shared 2-core machine is noisy.
 *
 * Uses NATS_URL when set (publishing into that server's EVENTS stream under a throw-away location),
 * otherwise starts a private nats-server on a free port.
 */
import { createEvent, eventSubject } from '@app/contracts';
import { ConsumerRunner, EventBus, MessagingConnection, STREAMS, StreamProvisioner } from '@app/messaging';
import { NatsServerHandle, startNatsServer } from '@app/testing';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { AckPolicy, DeliverPolicy, JsMsg, nanos } from 'nats';
import { pino } from 'pino';

interface Options {
  n: number;
  window: number;
  batch: number;
  concurrency: number;
  warmup: number;
  rounds: number;
}

interface Result {
  seconds: number;
  throughput: number;
  p50: number;
  p99: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { n: 20_000, window: 256, batch: 256, concurrency: 16, warmup: 2_000, rounds: 3 };
  for (let i = 0; i < argv.length; i++) {
    const match = /^--(n|window|batch|concurrency|warmup|rounds)(?:=(.*))?$/.exec(argv[i] ?? '');
    if (!match) throw new Error(`unknown argument ${argv[i]}`);
    const key = match[1] as keyof Options;
    const value = Number(match[2] ?? argv[++i]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${key} needs a whole number`);
    options[key] = value;
  }
  if ([options.n, options.window, options.batch, options.concurrency, options.rounds].some((v) => v < 1)) {
    throw new Error('--n, --window, --batch, --concurrency and --rounds must be at least 1');
  }
  return options;
}

/** Runs `publishOne(i)` for i in [0, n) with at most `window` calls outstanding. */
async function pump(n: number, window: number, publishOne: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await publishOne(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, n) }, worker));
}

/** Collects publish→handle latencies and resolves once every message was handled. */
class Tracker {
  private readonly started = new Map<string, number>();
  private readonly latencies: Float64Array;
  private count = 0;
  private firstPublish = 0;
  private lastHandled = 0;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(private readonly expected: number) {
    this.latencies = new Float64Array(expected);
  }

  published(id: string): void {
    const now = performance.now();
    if (this.firstPublish === 0) this.firstPublish = now;
    this.started.set(id, now);
  }

  handled(id: string): void {
    const start = this.started.get(id);
    if (start === undefined) return;
    this.started.delete(id);
    const now = performance.now();
    this.latencies[this.count++] = now - start;
    this.lastHandled = now;
    if (this.count === this.expected) this.resolveDone();
  }

  result(): Result {
    const sorted = this.latencies.slice(0, this.count).sort();
    const at = (q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
    const seconds = (this.lastHandled - this.firstPublish) / 1000;
    return { seconds, throughput: this.count / seconds, p50: at(0.5), p99: at(0.99) };
  }
}

function payload(i: number) {
  return {
    waMessageId: `wamid-${i}`,
    chatJid: '15550000001@s.whatsapp.net',
    status: 'delivered' as const,
    error: null,
    at: new Date().toISOString(),
  };
}

async function runLibrary(
  connection: MessagingConnection,
  provisioner: StreamProvisioner,
  location: string,
  n: number,
  options: Options,
): Promise<Result> {
  const logger = pino({ level: 'warn' });
  const bus = new EventBus(connection, logger);
  const tracker = new Tracker(n);
  const runner = new ConsumerRunner(
    connection,
    provisioner,
    {
      consumer: {
        stream: STREAMS.events,
        durable: `bench-lib-${location}`,
        filterSubject: `evt.${location}.>`,
      },
      concurrency: options.concurrency,
      pullBatch: options.batch,
      handler: async (envelope) => tracker.handled(envelope.id),
    },
    logger,
  );
  await runner.start();
  await pump(n, options.window, (i) => {
    const id = randomUUID();
    tracker.published(id);
    return bus.publish('message.status', location, payload(i), { id });
  });
  await tracker.done;
  await runner.stop();
  await (await connection.jsm()).consumers.delete(STREAMS.events, `bench-lib-${location}`);
  return tracker.result();
}

async function runRaw(
  connection: MessagingConnection,
  location: string,
  n: number,
  options: Options,
): Promise<Result> {
  const { js } = connection;
  const jsm = await connection.jsm();
  const durable = `bench-raw-${location}`;
  await jsm.consumers.add(STREAMS.events, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `evt.${location}.>`,
    max_deliver: 10,
    ack_wait: nanos(30_000),
    max_ack_pending: 1_000,
  });
  const tracker = new Tracker(n);
  const consumer = await js.consumers.get(STREAMS.events, durable);
  const messages = await consumer.consume({ max_messages: options.batch });
  const consuming = (async () => {
    for await (const msg of messages as AsyncIterable<JsMsg>) {
      const envelope = msg.json<{ id: string }>();
      tracker.handled(envelope.id);
      msg.ack();
    }
  })();
  const subject = eventSubject('message.status', location);
  // The same envelope shape as the library sends, built by hand and not validated.
  const template = createEvent('message.status', location, payload(0));
  await pump(n, options.window, (i) => {
    const id = randomUUID();
    tracker.published(id);
    const envelope = {
      ...template,
      id,
      correlationId: id,
      occurredAt: new Date().toISOString(),
      payload: payload(i),
    };
    return js.publish(subject, Buffer.from(JSON.stringify(envelope)), { msgID: id });
  });
  await tracker.done;
  await messages.close();
  await consuming;
  await jsm.consumers.delete(STREAMS.events, durable);
  return tracker.result();
}

function median(results: Result[]): Result {
  const mid = (pick: (r: Result) => number) => {
    const values = results.map(pick).sort((a, b) => a - b);
    const m = Math.floor(values.length / 2);
    return values.length % 2 === 1 ? values[m] : (values[m - 1] + values[m]) / 2;
  };
  return {
    seconds: mid((r) => r.seconds),
    throughput: mid((r) => r.throughput),
    p50: mid((r) => r.p50),
    p99: mid((r) => r.p99),
  };
}

function fmt(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  let server: NatsServerHandle | undefined;
  const url = process.env.NATS_URL ?? (server = await startNatsServer({ jetstream: true })).url;
  const logger = pino({ level: 'warn' });
  const connection = await MessagingConnection.connect({ servers: url, name: 'bus-bench', logger });
  const provisioner = new StreamProvisioner(connection, logger);
  await provisioner.ensureStreams();
  const runId = Date.now().toString(36);
  const locations: string[] = [];
  const location = (label: string) => {
    const id = `bench${label}${runId}`;
    locations.push(id);
    return id;
  };

  try {
    if (options.warmup > 0) {
      await runRaw(connection, location('wr'), options.warmup, options);
      await runLibrary(connection, provisioner, location('wl'), options.warmup, options);
    }
    const raws: Result[] = [];
    const libs: Result[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const runRawRound = async () =>
        raws.push(await runRaw(connection, location(`r${round}`), options.n, options));
      const runLibRound = async () =>
        libs.push(await runLibrary(connection, provisioner, location(`l${round}`), options.n, options));
      if (round % 2 === 0) {
        await runRawRound();
        await runLibRound();
      } else {
        await runLibRound();
        await runRawRound();
      }
    }
    const raw = median(raws);
    const lib = median(libs);

    const cpu = cpus();
    const latencyRatio = lib.p50 / raw.p50;
    const latencyRatioP99 = lib.p99 / raw.p99;
    const throughputRatio = lib.throughput / raw.throughput;
    const rows: [string, string, string, string, string][] = [
      ['', 'msgs/s', 'p50 ms', 'p99 ms', 'elapsed s'],
      ['raw nats.js', fmt(raw.throughput, 0), fmt(raw.p50, 2), fmt(raw.p99, 2), fmt(raw.seconds, 2)],
      ['@app/messaging', fmt(lib.throughput, 0), fmt(lib.p50, 2), fmt(lib.p99, 2), fmt(lib.seconds, 2)],
      ['library / raw', fmt(throughputRatio, 2), fmt(latencyRatio, 2), fmt(latencyRatioP99, 2), ''],
    ];
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    const line = (r: string[]) =>
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('   ');

    console.log('');
    console.log(
      `Bus benchmark: ${options.n} events × ${options.rounds} rounds (median shown), publish window ${options.window}, pull batch ${options.batch}, library concurrency ${options.concurrency}`,
    );
    console.log(
      `machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown cpu'}), node ${process.version}, nats-server ${connection.nc.info?.version ?? '?'}${server ? ' (private, file storage)' : ` at ${url}`}`,
    );
    console.log('latency = publish call → handler invoked, same process');
    console.log('');
    for (const r of rows) console.log(line(r));
    console.log('');
    const latencyOk = latencyRatio < 2;
    const throughputOk = throughputRatio >= 0.5;
    console.log(
      `target p50 latency < 2x raw:      ${latencyOk ? 'met' : 'MISSED'} (${fmt(latencyRatio, 2)}x)`,
    );
    console.log(
      `target throughput >= 50% of raw:  ${throughputOk ? 'met' : 'MISSED'} (${fmt(throughputRatio * 100, 0)}%)`,
    );
    if (!latencyOk || !throughputOk) process.exitCode = 1;
  } finally {
    const jsm = await connection.jsm();
    for (const loc of locations) {
      await jsm.streams.purge(STREAMS.events, { filter: `evt.${loc}.>` }).catch(() => undefined);
    }
    await connection.drain();
    await server?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
