import type { Lease, LeaseRef } from './lease';
import {
  defaultSafetyMarginMs,
  LeaseKeeper,
  type LeaseKeeperOptions,
  type LeaseLostReason,
} from './lease-keeper';
import type { LeaseScheduler, TimerHandle } from './lease-scheduler';

/** Time only moves when a test says so; due timers run in order, with promise callbacks settled between. */
class FakeScheduler implements LeaseScheduler {
  /** `lagMs` makes every timer fire that much late, like an event loop blocked by other work. */
  constructor(private readonly lagMs = 0) {}

  private time = 0;
  private sequence = 0;
  private readonly timers = new Map<TimerHandle, { at: number; sequence: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const handle = {};
    this.timers.set(handle, {
      at: this.time + Math.max(0, ms) + this.lagMs,
      sequence: this.sequence++,
      callback,
    });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  async advanceTo(end: number): Promise<void> {
    for (;;) {
      await settle();
      let next: [TimerHandle, { at: number; sequence: number; callback: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at > end) continue;
        if (
          !next ||
          entry[1].at < next[1].at ||
          (entry[1].at === next[1].at && entry[1].sequence < next[1].sequence)
        )
          next = entry;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
    }
    this.time = Math.max(this.time, end);
    await settle();
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.time + ms);
  }
}

/** Lets every already-resolved promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type Answer = 'ok' | 'null' | 'error' | 'hang';

/** A renewer whose answers the test scripts; it records when each request was sent and with what. */
class ScriptedRenewer {
  readonly calls: { at: number; lease: LeaseRef; ttlMs: number }[] = [];
  private readonly held: ((confirmed: boolean) => void)[] = [];
  answer: Answer = 'ok';

  constructor(private readonly scheduler: FakeScheduler) {}

  renew = (lease: LeaseRef, ttlMs: number): Promise<Lease | null> => {
    this.calls.push({ at: this.scheduler.now(), lease, ttlMs });
    const renewed: Lease = { ...lease, expiresAt: new Date(1_000_000 + this.scheduler.now() + ttlMs) };
    switch (this.answer) {
      case 'ok':
        return Promise.resolve(renewed);
      case 'null':
        return Promise.resolve(null);
      case 'error':
        return Promise.reject(new Error('connection terminated'));
      case 'hang':
        return new Promise((resolve) => this.held.push((confirmed) => resolve(confirmed ? renewed : null)));
    }
  };

  /** Answers every hung request now, as the database would once it comes back. */
  releaseHung(result: 'ok' | 'null'): void {
    for (const answer of this.held.splice(0)) answer(result === 'ok');
  }

  get sentAt(): number[] {
    return this.calls.map((call) => call.at);
  }
}

const LEASE: Lease = { locationId: 'loc-1', ownerId: 'worker-a', epoch: 7, expiresAt: new Date(0) };
const TTL = 15_000;
const RENEW = 5_000;
const MARGIN = 3_000; // the default for a 15 s TTL: max(1000, ttl / 5)

function setup(overrides: Partial<LeaseKeeperOptions> = {}, lagMs = 0) {
  const scheduler = new FakeScheduler(lagMs);
  const renewer = new ScriptedRenewer(scheduler);
  const lost: { at: number; reason: LeaseLostReason }[] = [];
  const renewErrors: unknown[] = [];
  const keeper = new LeaseKeeper(renewer, LEASE, {
    ttlMs: TTL,
    renewEveryMs: RENEW,
    scheduler,
    leaseSentAt: 0,
    onLost: (reason) => lost.push({ at: scheduler.now(), reason }),
    onRenewError: (error) => renewErrors.push(error),
    ...overrides,
  });
  return { scheduler, renewer, keeper, lost, renewErrors };
}

describe('LeaseKeeper', () => {
  it('renews every renewEveryMs with the held lease and the ttl, and stays valid while renewals succeed', async () => {
    const { scheduler, renewer, keeper, lost } = setup();
    keeper.start();
    expect(keeper.isValid()).toBe(true);

    for (let t = 1_000; t <= 60_000; t += 1_000) {
      await scheduler.advanceTo(t);
      expect(keeper.isValid()).toBe(true);
    }

    expect(renewer.sentAt).toEqual([
      5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 45_000, 50_000, 55_000, 60_000,
    ]);
    for (const call of renewer.calls) {
      expect(call.ttlMs).toBe(TTL);
      expect(call.lease).toMatchObject({ locationId: 'loc-1', ownerId: 'worker-a', epoch: 7 });
    }
    expect(lost).toEqual([]);
    expect(keeper.epoch).toBe(7);
    // The deadline runs from the last confirmed send, not from when the answer came back.
    expect(keeper.deadline).toBe(60_000 + TTL - MARGIN);
  });

  it('keeps the cadence while earlier renewals hang, instead of waiting for them', async () => {
    const { scheduler, renewer, keeper } = setup();
    keeper.start();
    renewer.answer = 'hang';
    await scheduler.advanceTo(10_000);
    expect(renewer.sentAt).toEqual([5_000, 10_000]);
  });

  it('calls onLost before the lease can expire on the server when renewals hang', async () => {
    const { scheduler, renewer, keeper, lost } = setup();
    keeper.start();
    await scheduler.advanceTo(5_000); // confirmed renewal sent at 5 s: the server holds the lease to >= 20 s
    renewer.answer = 'hang';

    await scheduler.advanceTo(5_000 + TTL - MARGIN - 1);
    expect(lost).toEqual([]);
    expect(keeper.isValid()).toBe(true);

    await scheduler.advanceTo(5_000 + TTL - MARGIN);
    expect(lost).toHaveLength(1);
    expect(lost[0].at).toBe(17_000);
    expect(lost[0].at).toBeLessThan(5_000 + TTL); // the earliest the server could let the lease go
    expect(lost[0].reason.code).toBe('unconfirmed');
    expect(keeper.isValid()).toBe(false);
  });

  it('counts the first deadline from when the granting request was sent', async () => {
    const { scheduler, renewer, keeper, lost } = setup({ leaseSentAt: -2_000 });
    renewer.answer = 'hang';
    keeper.start();
    await scheduler.advanceTo(20_000);
    expect(lost.map((entry) => entry.at)).toEqual([-2_000 + TTL - MARGIN]);
  });

  it('calls onLost exactly once and then stops renewing, even when hung renewals answer later', async () => {
    const { scheduler, renewer, keeper, lost } = setup();
    keeper.start();
    renewer.answer = 'hang';
    await scheduler.advanceTo(TTL - MARGIN);
    expect(lost).toHaveLength(1);
    const sentBeforeLoss = renewer.calls.length;

    renewer.releaseHung('null');
    await scheduler.advanceTo(120_000);
    renewer.answer = 'null';
    await scheduler.advanceTo(240_000);

    expect(lost).toHaveLength(1);
    expect(renewer.calls).toHaveLength(sentBeforeLoss);
    expect(scheduler.pendingTimers).toBe(0);
  });

  it('treats a renewal confirmed after the deadline as lost, even when the deadline timer runs late', async () => {
    const { scheduler, renewer, keeper, lost } = setup({}, 2_000);
    keeper.start();
    renewer.answer = 'hang';
    await scheduler.advanceTo(7_000); // the 5 s renewal goes out 2 s late and hangs
    expect(renewer.sentAt).toEqual([7_000]);
    expect(keeper.isValid()).toBe(true);

    await scheduler.advanceTo(13_000); // past the 12 s deadline; its timer is due only at 14 s
    expect(keeper.isValid()).toBe(false);
    expect(lost).toEqual([]);
    renewer.releaseHung('ok');
    await scheduler.advance(0);

    expect(lost).toEqual([{ at: 13_000, reason: expect.objectContaining({ code: 'unconfirmed' }) }]);
    await scheduler.advanceTo(30_000);
    expect(lost).toHaveLength(1);
  });

  it('calls onLost at once when a renewal says the lease is no longer held', async () => {
    const { scheduler, renewer, keeper, lost } = setup();
    keeper.start();
    await scheduler.advanceTo(5_000);
    renewer.answer = 'null';
    await scheduler.advanceTo(10_000);

    expect(lost).toEqual([{ at: 10_000, reason: expect.objectContaining({ code: 'not-held' }) }]);
    expect(keeper.isValid()).toBe(false);
    await scheduler.advanceTo(60_000);
    expect(renewer.sentAt).toEqual([5_000, 10_000]);
    expect(lost).toHaveLength(1);
  });

  it('retries a failed renewal sooner, and gives up at the deadline with the last error', async () => {
    const { scheduler, renewer, keeper, lost, renewErrors } = setup();
    keeper.start();
    renewer.answer = 'error';
    await scheduler.advanceTo(8_000);
    expect(renewer.sentAt).toEqual([5_000, 6_000, 7_000, 8_000]);
    expect(renewErrors).toHaveLength(4);

    // One success in between buys a whole new window from when it was sent.
    renewer.answer = 'ok';
    await scheduler.advanceTo(9_000);
    expect(keeper.deadline).toBe(9_000 + TTL - MARGIN);
    renewer.answer = 'error';
    await scheduler.advanceTo(9_000 + TTL - MARGIN - 1);
    expect(lost).toEqual([]);

    await scheduler.advanceTo(9_000 + TTL - MARGIN);
    expect(lost).toHaveLength(1);
    expect(lost[0].reason).toEqual({
      code: 'unconfirmed',
      message: expect.stringContaining('loc-1 epoch 7'),
      lastError: 'connection terminated',
    });
  });

  it('counts the safe window from when a renewal was sent, not from when it was answered', async () => {
    const { scheduler, renewer, keeper } = setup();
    keeper.start();
    renewer.answer = 'hang';
    await scheduler.advanceTo(5_000); // sent at 5 s
    await scheduler.advanceTo(9_000);
    renewer.releaseHung('ok'); // answered at 9 s
    await scheduler.advance(0);
    expect(keeper.deadline).toBe(5_000 + TTL - MARGIN);
  });

  it('moves the deadline only forward when renewals answer out of order', async () => {
    const { scheduler, renewer, keeper } = setup();
    keeper.start();
    renewer.answer = 'hang';
    await scheduler.advanceTo(5_000); // sent at 5 s, hangs
    renewer.answer = 'ok';
    await scheduler.advanceTo(10_000); // sent at 10 s, confirmed at once
    expect(keeper.deadline).toBe(10_000 + TTL - MARGIN);
    renewer.releaseHung('ok'); // the 5 s renewal answers last
    await scheduler.advance(1);
    expect(keeper.deadline).toBe(10_000 + TTL - MARGIN);
  });

  it('stop() ends renewals and watching: no more requests, no onLost, no timers', async () => {
    const { scheduler, renewer, keeper, lost } = setup();
    keeper.start();
    await scheduler.advanceTo(5_000);
    renewer.answer = 'hang';
    await scheduler.advanceTo(10_000);
    keeper.stop();
    expect(keeper.isValid()).toBe(false);
    expect(scheduler.pendingTimers).toBe(0);

    renewer.releaseHung('null');
    await scheduler.advanceTo(100_000);
    expect(renewer.sentAt).toEqual([5_000, 10_000]);
    expect(lost).toEqual([]);
    keeper.stop();
  });

  it('is not valid before start, and refuses to start twice', () => {
    const { keeper } = setup();
    expect(keeper.isValid()).toBe(false);
    keeper.start();
    expect(() => keeper.start()).toThrow(/already started/);
  });

  it('refuses a cadence that cannot land a renewal inside the safe window', () => {
    expect(() => setup({ renewEveryMs: TTL - MARGIN })).toThrow(RangeError);
    expect(() => setup({ safetyMarginMs: TTL })).toThrow(RangeError);
    expect(() => setup({ renewEveryMs: 0 })).toThrow(RangeError);
  });

  it('uses a safety margin of max(1 s, ttl / 5), at most half the ttl', () => {
    expect(defaultSafetyMarginMs(15_000)).toBe(3_000);
    expect(defaultSafetyMarginMs(100_000)).toBe(20_000);
    expect(defaultSafetyMarginMs(4_000)).toBe(1_000);
    expect(defaultSafetyMarginMs(1_000)).toBe(500);
  });

  describe('LeaseKeeper.acquire', () => {
    it('starts keeping a granted lease, its first deadline counted from when the acquire was sent', async () => {
      const scheduler = new FakeScheduler();
      const renewer = new ScriptedRenewer(scheduler);
      let grant!: (lease: Lease | null) => void;
      const repository = {
        renew: renewer.renew,
        acquire: jest.fn(() => new Promise<Lease | null>((resolve) => (grant = resolve))),
      };
      const pending = LeaseKeeper.acquire(repository, 'loc-1', 'worker-a', {
        ttlMs: TTL,
        renewEveryMs: RENEW,
        scheduler,
        onLost: () => undefined,
      });
      await scheduler.advanceTo(2_000); // the acquire takes 2 s to answer
      grant(LEASE);
      const keeper = await pending;

      expect(repository.acquire).toHaveBeenCalledWith('loc-1', 'worker-a', TTL);
      expect(keeper?.deadline).toBe(TTL - MARGIN);
      expect(keeper?.isValid()).toBe(true);
      await scheduler.advanceTo(7_000);
      expect(renewer.sentAt).toEqual([7_000]);
      keeper?.stop();
    });

    it('returns null without timers when someone else holds the lease', async () => {
      const scheduler = new FakeScheduler();
      const repository = { renew: jest.fn(), acquire: jest.fn(async () => null) };
      const keeper = await LeaseKeeper.acquire(repository, 'loc-1', 'worker-a', {
        ttlMs: TTL,
        renewEveryMs: RENEW,
        scheduler,
        onLost: () => undefined,
      });
      expect(keeper).toBeNull();
      expect(scheduler.pendingTimers).toBe(0);
      expect(repository.renew).not.toHaveBeenCalled();
    });
  });
});
