/**
 * What the session-worker benchmarks share: flags, statistics, the machine line, /proc sampling of a
 * worker, a poll of the workers' log lines, and plain-text tables. Nothing here knows a benchmark.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, openSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import type { EventEnvelope, EventType } from '@app/contracts';
import type { LogLine } from '@app/testing/app-process';
import type { WorkerCluster } from '@app/testing/worker-cluster';

// ---------------------------------------------------------------- flags

export type FlagValues = Record<string, number | string>;

/**
 * Parses `--kebab-name value` / `--kebab-name=value` into the camelCase keys of `defaults`; a key whose
 * default is a number takes a non-negative whole number. `--help` prints `usage` and exits.
 */
export function parseFlags<T extends FlagValues>(argv: string[], defaults: T, usage: string): T {
  const values: FlagValues = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    }
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    const key = match?.[1].replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    if (!match || key === undefined || !(key in defaults))
      throw new Error(`unknown argument ${arg}\n${usage}`);
    const raw = match[2] ?? argv[++i];
    if (raw === undefined) throw new Error(`--${match[1]} needs a value`);
    if (typeof defaults[key] === 'number') {
      const value = Number(raw);
      if (!Number.isInteger(value) || value < 0) throw new Error(`--${match[1]} needs a whole number`);
      values[key] = value;
    } else {
      values[key] = raw;
    }
  }
  return values as T;
}

// ---------------------------------------------------------------- statistics

/** Nearest-rank percentile; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  max: number;
  min: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: values.length ? Math.max(...values) : NaN,
    min: values.length ? Math.min(...values) : NaN,
    mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN,
  };
}

/** Least-squares line through the points: slope, intercept and r². */
export function linearFit(xs: readonly number[], ys: readonly number[]) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
    syy += (ys[i] - my) ** 2;
  }
  const slope = sxx === 0 ? NaN : sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: sxx === 0 || syy === 0 ? NaN : (sxy * sxy) / (sxx * syy) };
}

/** A small seeded PRNG (mulberry32), so a chaos run can be replayed with `--seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- formatting

export const secs = (ms: number, digits = 2) => (Number.isFinite(ms) ? (ms / 1000).toFixed(digits) : '-');
export const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
export const mib = (bytes: number) => bytes / 2 ** 20;

/** Prints rows as an aligned table: first column left-aligned, the others right-aligned. */
export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells.slice(1)) console.log(line(row));
}

export const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

// ---------------------------------------------------------------- machine and processes

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').trim();
}

/** One line: cores, CPU model, memory, Node version, load average now. */
export function machineLine(): string {
  const cpu = cpus();
  return (
    `machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
    `node ${process.version}, loadavg ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (/proc/loadavg: ${loadAverage()})`
  );
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcSample {
  at: number;
  rssBytes: number;
  /** utime + stime. */
  cpuSeconds: number;
}

/** RSS (VmRSS) and CPU time (utime + stime) of a live process, from /proc. */
export function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { at: Date.now(), rssBytes: rssKb * 1024, cpuSeconds: ticks / ticksPerSecond() };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true; false if `timeoutMs` passes first. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------- the cluster, from a benchmark's side

/** Every event the cluster sees, with the local time it arrived (the cluster keeps only the events). */
export class EventClock {
  private readonly receivedAt = new WeakMap<EventEnvelope, number>();
  private readonly unsubscribe: () => void;

  constructor(private readonly cluster: WorkerCluster) {
    this.unsubscribe = cluster.onEvent((event, at) => this.receivedAt.set(event, at));
  }

  at(event: EventEnvelope): number {
    return this.receivedAt.get(event) ?? Date.parse(event.occurredAt);
  }

  /** Events of `type` (for `locationId`, if given) that arrived at or after `since`. */
  since<T extends EventType>(type: T, since: number, locationId?: string): EventEnvelope<T>[] {
    return this.cluster.events.filter(
      (e) =>
        e.type === type &&
        (locationId === undefined || e.locationId === locationId) &&
        (this.receivedAt.get(e) ?? 0) >= since,
    ) as EventEnvelope<T>[];
  }

  close(): void {
    this.unsubscribe();
  }
}

export interface LiveLease {
  locationId: string;
  ownerId: string;
  epoch: number;
  remainingMs: number;
}

/** Live leases by location, with how long each has left by the database clock. */
export async function liveLeases(cluster: WorkerCluster): Promise<Map<string, LiveLease>> {
  const rows = await cluster.dataSource.query<
    { location_id: string; owner_id: string; epoch: string; remaining_ms: number }[]
  >(
    `SELECT location_id, owner_id, epoch,
            (extract(epoch FROM expires_at - now()) * 1000)::float8 AS remaining_ms
       FROM session_leases WHERE expires_at > now()`,
  );
  return new Map(
    rows.map((row) => [
      row.location_id,
      {
        locationId: row.location_id,
        ownerId: row.owner_id,
        epoch: Number(row.epoch),
        remainingMs: Number(row.remaining_ms),
      },
    ]),
  );
}

export interface SeenLogLine {
  worker: string;
  line: LogLine;
}

/**
 * Reads the workers' log lines as they come, by polling (each worker keeps only its last lines), so a
 * benchmark can count warnings and errors over a long run and find when a worker claimed a session.
 */
export class LogTap {
  private readonly seen = new WeakSet<LogLine>();
  private readonly kept: SeenLogLine[] = [];
  private readonly timer: NodeJS.Timeout;

  private readonly file?: number;

  /** `logFile`: every line of every worker is also appended there (JSON lines), for a post-mortem. */
  constructor(
    private readonly cluster: WorkerCluster,
    private readonly keep: (line: LogLine) => boolean,
    logFile?: string,
    intervalMs = 200,
  ) {
    if (logFile) this.file = openSync(logFile, 'w');
    this.timer = setInterval(() => this.poll(), intervalMs);
  }

  /** Reads what the workers printed since the last poll; call it before a worker is forgotten. */
  poll(): void {
    for (const [worker, process] of this.cluster.workers) {
      for (const line of process.lines) {
        if (this.seen.has(line)) continue;
        this.seen.add(line);
        if (this.keep(line)) this.kept.push({ worker, line });
        if (this.file !== undefined) appendFileSync(this.file, `${JSON.stringify(line)}\n`);
      }
    }
  }

  get lines(): readonly SeenLogLine[] {
    return this.kept;
  }

  /** The time (ms) of the first kept line after `since` that `match` accepts. */
  firstAfter(since: number, match: (seen: SeenLogLine) => boolean): number | undefined {
    this.poll();
    for (const seen of this.kept) {
      const at = lineTime(seen.line);
      if (at >= since && match(seen)) return at;
    }
    return undefined;
  }

  close(): void {
    clearInterval(this.timer);
    this.poll();
  }
}

export function lineTime(line: LogLine): number {
  return typeof line.time === 'string'
    ? Date.parse(line.time)
    : typeof line.time === 'number'
      ? line.time
      : NaN;
}

/** Counts of warn / error / fatal lines by message, for the report. */
export function summarizeProblems(lines: readonly SeenLogLine[]): string[] {
  const counts = new Map<string, number>();
  for (const { line } of lines) {
    if (line.level !== 'warn' && line.level !== 'error' && line.level !== 'fatal') continue;
    // Baileys logs every <stream:error> at error level, the normal 515 after pairing included.
    const streamCode = (line.node as { attrs?: { code?: unknown } } | undefined)?.attrs?.code;
    const key =
      `${line.level}: ${String(line.msg ?? '(no message)')}` +
      (typeof streamCode === 'string' || typeof streamCode === 'number'
        ? ` (stream error code ${streamCode})`
        : '');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${String(n).padStart(5)}  ${key}`);
}

/** Stops the cluster on Ctrl-C so no process or database outlives the benchmark. */
export function cleanUpOnInterrupt(cleanUp: () => Promise<void>): void {
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (interrupted) return;
      interrupted = true;
      console.error(`\n${signal}: stopping the cluster`);
      void cleanUp()
        .catch((error: unknown) => console.error(error))
        .finally(() => process.exit(130));
    });
  }
}

// ---------------------------------------------------------------- linking many sessions

export interface BenchSession {
  locationId: string;
  /** Digits only, as the sandbox wants it. */
  phone: string;
}

/** `count` sessions with distinct location ids and phone numbers, starting at `first`. */
export function benchSessions(
  prefix: string,
  first: number,
  count: number,
  phoneBase: number,
): BenchSession[] {
  return Array.from({ length: count }, (_, i) => ({
    locationId: `${prefix}${String(first + i).padStart(4, '0')}`,
    phone: String(phoneBase + first + i),
  }));
}

const START_ATTEMPTS = 3;

export interface LinkResult {
  /** When the first start was sent. */
  startedAt: number;
  /** When the last `session.ready` arrived. */
  lastReadyAt: number;
  ready: number;
  /** Locations that did not become open in time, with their projection state. */
  missing: { locationId: string; state: string | undefined }[];
  scans: number;
  failedScans: number;
  lastScanError?: string;
  /** `session.start` commands that failed (each is retried up to three times). */
  startErrors: number;
  lastStartError?: string;
}

/**
 * Installs and starts the sessions over NATS, scans each QR through the sandbox as it appears, and
 * waits until every one is open (projection) and said so (`session.ready`). The workers' connect ramp
 * paces the pairings; `concurrency` only bounds the start commands in flight.
 */
export async function linkAll(
  cluster: WorkerCluster,
  sessions: readonly BenchSession[],
  { timeoutMs, concurrency = 8 }: { timeoutMs: number; concurrency?: number },
): Promise<LinkResult> {
  const byLocation = new Map(sessions.map((s) => [s.locationId, s]));
  const readyAt = new Map<string, number>();
  const stopListening = cluster.onEvent((event, at) => {
    if (event.type === 'session.ready' && byLocation.has(event.locationId)) readyAt.set(event.locationId, at);
  });
  const scanner = cluster.autoScan((locationId) => {
    const session = byLocation.get(locationId);
    return session && !readyAt.has(locationId) ? { phone: session.phone } : undefined;
  });
  try {
    await cluster.dataSource.query(
      `INSERT INTO installations (location_id, install_type)
       SELECT unnest($1::text[]), 'Location' ON CONFLICT DO NOTHING`,
      [sessions.map((s) => s.locationId)],
    );
    const startedAt = Date.now();
    let next = 0;
    let startErrors = 0;
    let lastStartError: string | undefined;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, sessions.length) }, async () => {
        while (next < sessions.length) {
          const session = sessions[next++];
          // A worker under load may fail a start (e.g. its database pool timed out): retry, and count it.
          for (let attempt = 1; ; attempt++) {
            try {
              await cluster.commands.request('session.start', session.locationId, {}, { timeoutMs: 30_000 });
              break;
            } catch (error) {
              startErrors += 1;
              lastStartError = error instanceof Error ? error.message : String(error);
              if (attempt === START_ATTEMPTS) break;
              await sleep(1_000 * attempt);
            }
          }
        }
      }),
    );
    const openInProjection = async () => {
      const rows = await cluster.sessionRows();
      return sessions.filter((s) => rows.get(s.locationId)?.state === 'open').length;
    };
    await waitUntil(
      async () => readyAt.size >= sessions.length && (await openInProjection()) === sessions.length,
      timeoutMs,
      250,
    );
    const rows = await cluster.sessionRows();
    const missing = sessions
      .filter((s) => !readyAt.has(s.locationId) || rows.get(s.locationId)?.state !== 'open')
      .map((s) => ({ locationId: s.locationId, state: rows.get(s.locationId)?.state }));
    return {
      startedAt,
      lastReadyAt: Math.max(startedAt, ...readyAt.values()),
      ready: sessions.length - missing.length,
      missing,
      scans: scanner.scanned,
      failedScans: scanner.failed,
      startErrors,
      ...(scanner.lastError === undefined ? {} : { lastScanError: scanner.lastError }),
      ...(lastStartError === undefined ? {} : { lastStartError }),
    };
  } finally {
    scanner.stop();
    stopListening();
  }
}
