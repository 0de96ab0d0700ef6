import type { Lease, LeaseRef } from './lease';
import { systemLeaseScheduler, type LeaseScheduler, type TimerHandle } from './lease-scheduler';

/** The part of `SessionLeaseRepository` a keeper needs; a strict fake in unit tests. */
export interface LeaseStore {
  acquire(locationId: string, ownerId: string, ttlMs: number): Promise<Lease | null>;
  /** Renews the given holdings of `ownerId` in one request; returns those still held (now renewed). */
  renewAll(ownerId: string, holdings: readonly Omit<LeaseRef, 'ownerId'>[], ttlMs: number): Promise<Lease[]>;
  release(lease: LeaseRef): Promise<boolean>;
}

/**
 * Why a kept lease must be treated as gone. In both cases the socket has to close now.
 * - `not-held`: the database said the lease is no longer this holding (expired and taken, epoch moved).
 * - `unconfirmed`: no renewal was confirmed in time (database down, process paused, slow queries); the
 *   lease may still be ours on the server, but not for long enough to be sure.
 */
export type LeaseLostReason =
  | { readonly code: 'not-held'; readonly message: string }
  | { readonly code: 'unconfirmed'; readonly message: string; readonly lastError?: string };

export interface LeaseKeeperOptions {
  ttlMs: number;
  renewEveryMs: number;
  /**
   * How long before a lease could expire on the server the keeper gives it up: time to close the
   * socket, even for a process starved of CPU whose timers run late — another worker may claim the
   * session the moment the lease expires. Default max(1000, ttl / 3), but at most ttl / 2 so short
   * test TTLs still leave room to renew.
   */
  safetyMarginMs?: number;
  /** After a renewal fails with an error, the next try comes this soon. Default min(1000, renewEvery). */
  retryAfterErrorMs?: number;
  /** A renewal request threw (it will be retried); for logs and metrics. */
  onRenewError?: (error: unknown, leases: number) => void;
  scheduler?: LeaseScheduler;
}

export function defaultSafetyMarginMs(ttlMs: number): number {
  return Math.min(Math.max(1_000, ttlMs / 3), ttlMs / 2);
}

/**
 * Keeps every lease one worker holds: renews them all with one request per interval, and decides per
 * lease, on the local monotonic clock, when it can no longer be trusted.
 *
 * The safety argument: a renewal the database confirms was executed after it was sent, so on the
 * server each lease it returned then lasts until at least `sentAt + ttl` in real time. Every kept lease
 * therefore has a deadline `sentAt(last renewal confirming it) + ttl - safetyMargin` (for a new lease:
 * from when its acquire was sent) and, if nothing newer confirms it by then, its `onLost` runs while
 * the lease is still ours on the server — the margin is the time the caller has to close the socket
 * before another worker may acquire the session. A lease missing from a renewal's answer is lost at once.
 *
 * Renewals go out on a fixed cadence whether or not the previous one has answered, so one hung
 * connection cannot starve renewals that would succeed on another.
 */
export class LeaseKeeper {
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  readonly safetyMarginMs: number;
  readonly scheduler: LeaseScheduler;
  private readonly retryAfterErrorMs: number;
  private readonly kept = new Set<KeptLease>();
  private renewTimer: TimerHandle | undefined;
  private nextRenewAt = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly store: LeaseStore,
    readonly ownerId: string,
    private readonly options: LeaseKeeperOptions,
  ) {
    const { ttlMs, renewEveryMs } = options;
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be positive, got ${ttlMs}`);
    this.safetyMarginMs = options.safetyMarginMs ?? defaultSafetyMarginMs(ttlMs);
    if (!(this.safetyMarginMs >= 0 && this.safetyMarginMs < ttlMs)) {
      throw new RangeError(`safetyMarginMs must be in [0, ttlMs), got ${this.safetyMarginMs}`);
    }
    // A cadence slower than the safe window would let a deadline pass between two healthy renewals.
    if (!(renewEveryMs > 0 && renewEveryMs < ttlMs - this.safetyMarginMs)) {
      throw new RangeError(
        `renewEveryMs must be positive and below ttl - safety margin (${ttlMs - this.safetyMarginMs}), got ${renewEveryMs}`,
      );
    }
    this.ttlMs = ttlMs;
    this.renewEveryMs = renewEveryMs;
    this.retryAfterErrorMs = options.retryAfterErrorMs ?? Math.min(1_000, renewEveryMs);
    this.scheduler = options.scheduler ?? systemLeaseScheduler;
  }

  /** Leases kept now. */
  get size(): number {
    return this.kept.size;
  }

  /**
   * Acquires and keeps, recording when the acquire was sent so the first deadline is exact.
   * Null: someone else holds a live lease, or the keeper was stopped meanwhile (the lease is then
   * given back at once).
   */
  async acquire(locationId: string, onLost: (reason: LeaseLostReason) => void): Promise<KeptLease | null> {
    const sentAt = this.scheduler.now();
    const lease = await this.store.acquire(locationId, this.ownerId, this.ttlMs);
    if (!lease) return null;
    if (this.stopped) {
      await this.store.release(lease);
      return null;
    }
    return this.keep(lease, sentAt, onLost);
  }

  /**
   * Keeps a lease granted by a request sent at `sentAt` (monotonic, `scheduler.now()`). `onLost` is
   * called at most once, synchronously from a timer or a renewal's answer; it must close the socket.
   * A lease whose safe window has already passed is lost at once. Throws once the keeper is stopped.
   */
  keep(lease: Lease, sentAt: number, onLost: (reason: LeaseLostReason) => void): KeptLease {
    if (this.stopped) throw new Error('lease keeper was stopped');
    if (lease.ownerId !== this.ownerId) {
      throw new Error(`lease of ${lease.locationId} is owned by ${lease.ownerId}, not ${this.ownerId}`);
    }
    const kept = new KeptLease(this, lease, sentAt, onLost, (done) => this.kept.delete(done));
    if (kept.isValid()) {
      this.kept.add(kept);
      if (this.renewTimer === undefined) this.armRenew(this.renewEveryMs);
    }
    return kept;
  }

  /** Stops renewing and watching every lease; no `onLost` after this. For shutdown, after the release. */
  stop(): void {
    this.stopped = true;
    for (const kept of [...this.kept]) kept.stop();
    this.clearRenew();
  }

  private armRenew(delayMs: number): void {
    this.clearRenew();
    this.nextRenewAt = this.scheduler.now() + delayMs;
    this.renewTimer = this.scheduler.setTimeout(() => this.renewNow(), delayMs);
  }

  private clearRenew(): void {
    if (this.renewTimer !== undefined) this.scheduler.clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    this.nextRenewAt = Number.POSITIVE_INFINITY;
  }

  private renewNow(): void {
    this.renewTimer = undefined;
    this.nextRenewAt = Number.POSITIVE_INFINITY;
    if (this.stopped || this.kept.size === 0) return; // re-armed by the next `keep`
    // Next tick first: the cadence does not wait for this request to answer.
    this.armRenew(this.renewEveryMs);
    const batch = [...this.kept];
    const sentAt = this.scheduler.now();
    let pending: Promise<Lease[]>;
    try {
      pending = this.store.renewAll(
        this.ownerId,
        batch.map((kept) => ({ locationId: kept.locationId, epoch: kept.epoch })),
        this.ttlMs,
      );
    } catch (error) {
      pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    // A throwing onLost surfaces as an unhandled rejection on purpose: that is a bug, and it must be loud.
    void pending.then(
      (renewed) => this.renewed(batch, renewed, sentAt),
      (error: unknown) => this.renewFailed(batch, error),
    );
  }

  private renewed(batch: readonly KeptLease[], renewed: readonly Lease[], sentAt: number): void {
    const byLocation = new Map(renewed.map((lease) => [lease.locationId, lease]));
    for (const kept of batch) {
      const lease = byLocation.get(kept.locationId);
      if (lease && lease.epoch === kept.epoch && lease.ownerId === this.ownerId) kept.confirm(lease, sentAt);
      else kept.notHeld();
    }
  }

  private renewFailed(batch: readonly KeptLease[], error: unknown): void {
    if (this.stopped) return;
    const message = error instanceof Error ? error.message : String(error);
    for (const kept of batch) kept.renewalFailed(message);
    try {
      this.options.onRenewError?.(error, batch.length);
    } catch {
      // A failing log hook must not stop the renewals.
    }
    // Try again sooner than the normal cadence: every confirmed renewal buys another full window.
    if (this.kept.size > 0 && this.nextRenewAt - this.scheduler.now() > this.retryAfterErrorMs)
      this.armRenew(this.retryAfterErrorMs);
  }
}

/** One lease kept by a `LeaseKeeper`: what the session holding it asks before using its socket. */
export class KeptLease {
  private current: Lease;
  private confirmedSentAt: number;
  private deadlineTimer: TimerHandle | undefined;
  private lastError: string | undefined;
  private lost = false;
  private stopped = false;

  /** @internal created by `LeaseKeeper.keep` */
  constructor(
    private readonly keeper: LeaseKeeper,
    lease: Lease,
    sentAt: number,
    private readonly onLost: (reason: LeaseLostReason) => void,
    private readonly forget: (kept: KeptLease) => void,
  ) {
    this.current = lease;
    this.confirmedSentAt = sentAt;
    this.armDeadline();
  }

  /** The lease as last confirmed by the database. */
  get lease(): Lease {
    return this.current;
  }

  get locationId(): string {
    return this.current.locationId;
  }

  get epoch(): number {
    return this.current.epoch;
  }

  /** Monotonic time after which the lease is no longer trusted (unless a renewal is confirmed first). */
  get deadline(): number {
    return this.confirmedSentAt + this.keeper.ttlMs - this.keeper.safetyMarginMs;
  }

  /** Whether the socket may be used: not lost, not stopped, and the local deadline not passed. */
  isValid(): boolean {
    return !this.lost && !this.stopped && this.keeper.scheduler.now() < this.deadline;
  }

  /** Stops renewing and watching this lease; `onLost` will not be called after this. Idempotent. */
  stop(): void {
    if (this.done) return;
    this.stopped = true;
    this.end();
  }

  /** @internal a renewal sent at `sentAt` returned this holding. */
  confirm(lease: Lease, sentAt: number): void {
    if (this.done) return;
    // A confirmation after the deadline does not count: the caller may already have been told nothing.
    // (The deadline timer normally gets there first; this covers a timer that fired late.)
    if (this.keeper.scheduler.now() >= this.deadline) {
      this.loseUnconfirmed();
      return;
    }
    // Answers can arrive out of order; only a later send moves the deadline forward.
    if (sentAt > this.confirmedSentAt) {
      this.confirmedSentAt = sentAt;
      this.current = lease;
      this.lastError = undefined;
      this.armDeadline();
    }
  }

  /** @internal a renewal answered without this holding: another owner or epoch, or expired. */
  notHeld(): void {
    this.lose({
      code: 'not-held',
      message: `lease of ${this.current.locationId} epoch ${this.current.epoch} is no longer held`,
    });
  }

  /** @internal a renewal that included this lease failed; the deadline still stands. */
  renewalFailed(message: string): void {
    if (!this.done) this.lastError = message;
  }

  private get done(): boolean {
    return this.lost || this.stopped;
  }

  private armDeadline(): void {
    this.clearDeadline();
    const remaining = this.deadline - this.keeper.scheduler.now();
    if (remaining <= 0) {
      this.loseUnconfirmed();
      return;
    }
    this.deadlineTimer = this.keeper.scheduler.setTimeout(() => {
      this.deadlineTimer = undefined;
      if (this.done) return;
      // Timers may fire a little early; re-arm for the rest rather than give up too soon.
      this.armDeadline();
    }, remaining);
  }

  private clearDeadline(): void {
    if (this.deadlineTimer !== undefined) this.keeper.scheduler.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }

  private loseUnconfirmed(): void {
    const since = Math.round(this.keeper.scheduler.now() - this.confirmedSentAt);
    this.lose({
      code: 'unconfirmed',
      message: `no renewal of ${this.current.locationId} epoch ${this.current.epoch} confirmed for ${since} ms (ttl ${this.keeper.ttlMs} ms)`,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    });
  }

  private lose(reason: LeaseLostReason): void {
    if (this.done) return;
    this.lost = true;
    this.end();
    this.onLost(reason);
  }

  private end(): void {
    this.clearDeadline();
    this.forget(this);
  }
}
