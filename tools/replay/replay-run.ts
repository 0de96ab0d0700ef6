import { randomBytes } from 'node:crypto';
import type { EventEnvelope, ReplayOutcome } from '@app/contracts';
import type { ReplayOutcomeSubscription } from '@app/messaging';

/** One event to re-feed. `key` comes back with its outcome (the `Replay-Key` header). */
export interface ReplayItem {
  key: string;
  /** How the report names it, e.g. `EVENTS #1234` or `DLQ #7`. */
  label: string;
  /** When it was stored (shown in the report). */
  storedAt: Date;
  envelope: EventEnvelope | null;
  /** Why it cannot be sent (not a valid event); it is reported as failed. */
  invalidReason?: string;
}

export type FinalOutcome = 'applied' | 'skipped' | 'failed' | 'no_outcome' | 'not_sent';

export interface ItemResult {
  item: ReplayItem;
  outcome: FinalOutcome;
  detail: string | null;
  ghlMessageId: string | null;
}

export interface ReplayReport {
  runId: string;
  /** Items read from the selection (sent or not). */
  selected: number;
  sent: number;
  counts: Record<FinalOutcome, number>;
  /** Stopped by the operator before the end. */
  interrupted: boolean;
  elapsedMs: number;
  /** Outcomes per second, from the first send to the last outcome. */
  throughput: number;
  results: ItemResult[];
}

export interface ReplayRunDeps {
  /** Subscribes to the run's outcomes (before anything is sent). */
  subscribe(runId: string, onOutcome: (outcome: ReplayOutcome) => void): ReplayOutcomeSubscription;
  /** Re-feeds one item under the run (replay subject, or the original subject for a redrive). */
  send(item: ReplayItem & { envelope: EventEnvelope }, runId: string): Promise<void>;
  /** Per-event lines and progress; all optional. */
  onResult?(result: ItemResult): void;
  onRetrying?(item: ReplayItem, detail: string | null, deliveryCount: number): void;
  onProgress?(progress: ReplayProgress): void;
}

export interface ReplayProgress {
  selected: number;
  sent: number;
  done: number;
  counts: Record<FinalOutcome, number>;
  perSecond: number;
}

export interface ReplayRunOptions {
  /** Sent but unanswered events at most: bounds the load a run puts on sync. Default 256. */
  window?: number;
  /** Events per second at most; 0 (default) for as fast as the window allows. */
  rate?: number;
  /** How long to wait for outcomes after the last send. Default 60 s. */
  waitMs?: number;
  /** How long to wait for outstanding outcomes after `stop()`. Default 5 s. */
  stopGraceMs?: number;
  progressEveryMs?: number;
  runId?: string;
}

interface Pending {
  item: ReplayItem;
  retryDetail: string | null;
}

// Sends in flight at once: pipelined for throughput, in order (one connection keeps publish order).
const SENDS_IN_FLIGHT = 32;

/**
 * One replay run: sends the selected events with a bounded window of unanswered ones, collects what
 * sync did with each (`replay-outcome.<runId>`), reports progress, and stops cleanly: `stop()` ends
 * the sending, waits briefly for what is outstanding, and resolves with what is known.
 */
export class ReplayRun {
  readonly runId: string;
  private readonly window: number;
  private readonly rate: number;
  private readonly waitMs: number;
  private readonly stopGraceMs: number;
  private readonly progressEveryMs: number;
  private readonly pending = new Map<string, Pending>();
  private readonly results: ItemResult[] = [];
  private readonly counts: Record<FinalOutcome, number> = {
    applied: 0,
    skipped: 0,
    failed: 0,
    no_outcome: 0,
    not_sent: 0,
  };
  private selected = 0;
  private sent = 0;
  private stopping = false;
  private wake: (() => void) | undefined;
  private firstSendAt: number | undefined;
  private lastOutcomeAt: number | undefined;

  constructor(
    private readonly deps: ReplayRunDeps,
    options: ReplayRunOptions = {},
  ) {
    this.runId = options.runId ?? newRunId();
    this.window = options.window ?? 256;
    this.rate = options.rate ?? 0;
    this.waitMs = options.waitMs ?? 60_000;
    this.stopGraceMs = options.stopGraceMs ?? 5_000;
    this.progressEveryMs = options.progressEveryMs ?? 2_000;
  }

  /** Ends the sending; `run()` then waits up to the stop grace for outstanding outcomes. */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  async run(items: AsyncIterable<ReplayItem>): Promise<ReplayReport> {
    const started = Date.now();
    const subscription = this.deps.subscribe(this.runId, (outcome) => this.onOutcome(outcome));
    const progress = setInterval(() => this.deps.onProgress?.(this.progress()), this.progressEveryMs);
    try {
      await subscription.ready;
      await this.sendAll(items);
      await this.waitForOutcomes();
    } finally {
      clearInterval(progress);
      subscription.close();
    }
    for (const { item, retryDetail } of this.pending.values()) {
      this.finish(item, 'no_outcome', retryDetail ? `still retrying: ${retryDetail}` : null, null);
    }
    this.pending.clear();
    const elapsedMs = Date.now() - started;
    const span = (this.lastOutcomeAt ?? Date.now()) - (this.firstSendAt ?? started);
    const answered = this.counts.applied + this.counts.skipped + this.counts.failed;
    return {
      runId: this.runId,
      selected: this.selected,
      sent: this.sent,
      counts: { ...this.counts },
      interrupted: this.stopping,
      elapsedMs,
      throughput: span > 0 ? (answered * 1000) / span : 0,
      results: this.results,
    };
  }

  private async sendAll(items: AsyncIterable<ReplayItem>): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    for await (const item of items) {
      if (this.stopping) break;
      this.selected += 1;
      if (!item.envelope || item.invalidReason) {
        this.finish(item, 'not_sent', item.invalidReason ?? 'not an event', null);
        continue;
      }
      while (this.pending.size >= this.window && !this.stopping) await this.nap();
      await this.pace();
      if (this.stopping) break;
      this.firstSendAt ??= Date.now();
      this.pending.set(item.key, { item, retryDetail: null });
      this.sent += 1;
      const sending = this.deps
        .send({ ...item, envelope: item.envelope }, this.runId)
        .catch((err: unknown) => {
          if (this.pending.delete(item.key)) {
            this.sent -= 1;
            this.finish(item, 'not_sent', `could not be sent: ${(err as Error).message}`, null);
          }
        })
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
      if (inFlight.size >= SENDS_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  }

  private async pace(): Promise<void> {
    if (this.rate <= 0 || this.firstSendAt === undefined) return;
    const due = this.firstSendAt + (this.sent * 1000) / this.rate;
    while (Date.now() < due && !this.stopping) await this.nap(due);
  }

  /** After the last send: until every outcome is in, the wait is over, or (after a stop) the grace is. */
  private async waitForOutcomes(): Promise<void> {
    let stopped = this.stopping;
    let deadline = Date.now() + (stopped ? this.stopGraceMs : this.waitMs);
    while (this.pending.size > 0 && Date.now() < deadline) {
      await this.nap(deadline);
      if (this.stopping && !stopped) {
        stopped = true;
        deadline = Math.min(deadline, Date.now() + this.stopGraceMs);
      }
    }
  }

  private onOutcome(outcome: ReplayOutcome): void {
    const entry = this.pending.get(outcome.key);
    // Unknown: an outcome of an item already final (a redelivery after a lost ack), or not ours.
    if (!entry) return;
    if (outcome.outcome === 'retrying') {
      entry.retryDetail = outcome.detail;
      this.deps.onRetrying?.(entry.item, outcome.detail, outcome.deliveryCount);
      return;
    }
    this.pending.delete(outcome.key);
    this.lastOutcomeAt = Date.now();
    this.finish(entry.item, outcome.outcome, outcome.detail, outcome.ghlMessageId);
    this.wake?.();
  }

  private finish(
    item: ReplayItem,
    outcome: FinalOutcome,
    detail: string | null,
    ghlMessageId: string | null,
  ) {
    const result: ItemResult = { item, outcome, detail, ghlMessageId };
    this.counts[outcome] += 1;
    this.results.push(result);
    this.deps.onResult?.(result);
  }

  /** Resolves on the next outcome or `stop()`, or at `untilMs`. One waiter at a time (the run is sequential). */
  private nap(untilMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      if (untilMs !== undefined) timer = setTimeout(done, Math.max(0, untilMs - Date.now()));
      this.wake = done;
    });
  }

  private progress(): ReplayProgress {
    const done = this.results.length;
    const seconds = this.firstSendAt ? (Date.now() - this.firstSendAt) / 1000 : 0;
    return {
      selected: this.selected,
      sent: this.sent,
      done,
      counts: { ...this.counts },
      perSecond: seconds > 0 ? done / seconds : 0,
    };
  }
}

/** Sortable by time, unique enough for a person to quote, valid as a subject token. */
export function newRunId(): string {
  return `r${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}
