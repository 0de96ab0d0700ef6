import type { Lease, LeaseRef } from './lease';
import {
  defaultSafetyMarginMs,
  LeaseKeeper,
  type KeptLease,
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

type Answer = 'ok' | 'error' | 'hang';
type Holding = Omit<LeaseRef, 'ownerId'>;

/**
 * A lease store whose answers the test scripts: it records when each renewal was sent and what it
 * carried, and answers with every holding except the `dropped` locations (rows another worker took).
 */
class ScriptedStore {
  readonly calls: { at: number; holdings: Holding[]; ttlMs: number }[] = [];
  readonly dropped = new Set<string>();
  private readonly held: ((confirmed: boolean) => void)[] = [];
  answer: Answer = 'ok';
  grant: Lease | null = null;

  constructor(private readonly scheduler: FakeScheduler) {}

  acquire = jest.fn(async (locationId: string, ownerId: string) =>
    this.grant ? { ...this.grant, locationId, ownerId } : null,
  );

  release = jest.fn(async () => true);

  renewAll = (ownerId: string, holdings: readonly Holding[], ttlMs: number): Promise<Lease[]> => {
    this.calls.push({ at: this.scheduler.now(), holdings: [...holdings], ttlMs });
    const expiresAt = new Date(1_000_000 + this.scheduler.now() + ttlMs);
    const renewed = () =>
      holdings.filter((h) => !this.dropped.has(h.locationId)).map((h) => ({ ...h, ownerId, expiresAt }));
    switch (this.answer) {
      case 'ok':
        return Promise.resolve(renewed());
      case 'error':
        return Promise.reject(new Error('connection terminated'));
      case 'hang':
        return new Promise((resolve) => this.held.push((confirmed) => resolve(confirmed ? renewed() : [])));
    }
  };

  /** Answers every hung request now, as the database would once it comes back. */
  releaseHung(result: 'ok' | 'none'): void {
    for (const answer of this.held.splice(0)) answer(result === 'ok');
  }

  get sentAt(): number[] {
    return this.calls.map((call) => call.at);
  }
}

const TTL = 15_000;
const RENEW = 5_000;
const MARGIN = 3_000; // given explicitly: the figures below do not depend on the default
const OWNER = 'worker-a';

const leaseOf = (locationId: string, epoch = 7): Lease => ({
  locationId,
  ownerId: OWNER,
  epoch,
  expiresAt: new Date(0),
});

function setup(overrides: Partial<LeaseKeeperOptions> = {}, lagMs = 0) {
  const scheduler = new FakeScheduler(lagMs);
  const store = new ScriptedStore(scheduler);
  const lost: { at: number; locationId: string; reason: LeaseLostReason }[] = [];
  const renewErrors: { error: unknown; leases: number }[] = [];
  const keeper = new LeaseKeeper(store, OWNER, {
    ttlMs: TTL,
    renewEveryMs: RENEW,
    safetyMarginMs: MARGIN,
    scheduler,
    onRenewError: (error, leases) => renewErrors.push({ error, leases }),
    ...overrides,
  });
  /** Keeps a lease granted by a request sent at `sentAt` (default: now). */
  const keep = (locationId: string, sentAt = scheduler.now(), epoch = 7): KeptLease =>
    keeper.keep(leaseOf(locationId, epoch), sentAt, (reason) =>
      lost.push({ at: scheduler.now(), locationId, reason }),
    );
  return { scheduler, store, keeper, keep, lost, renewErrors };
}

describe('LeaseKeeper', () => {
  it('renews every renewEveryMs with the held lease and the ttl, and stays valid while renewals succeed', async () => {
    const { scheduler, store, keep, lost } = setup();
    const kept = keep('loc-1');
    expect(kept.isValid()).toBe(true);

    for (let t = 1_000; t <= 60_000; t += 1_000) {
      await scheduler.advanceTo(t);
      expect(kept.isValid()).toBe(true);
    }

    expect(store.sentAt).toEqual([
      5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 45_000, 50_000, 55_000, 60_000,
    ]);
    for (const call of store.calls) {
      expect(call.ttlMs).toBe(TTL);
      expect(call.holdings).toEqual([{ locationId: 'loc-1', epoch: 7 }]);
    }
    expect(lost).toEqual([]);
    expect(kept.epoch).toBe(7);
    // The deadline runs from the last confirmed send, not from when the answer came back.
    expect(kept.deadline).toBe(60_000 + TTL - MARGIN);
  });

  it('renews every lease of the worker with one request per interval, however many there are', async () => {
    const { scheduler, store, keep } = setup();
    const kept = Array.from({ length: 300 }, (_, i) => keep(`loc-${i}`, 0, i + 1));
    await scheduler.advanceTo(15_000);

    expect(store.sentAt).toEqual([5_000, 10_000, 15_000]);
    for (const call of store.calls) {
      expect(call.holdings).toHaveLength(300);
      expect(call.holdings[299]).toEqual({ locationId: 'loc-299', epoch: 300 });
    }
    expect(kept.every((lease) => lease.isValid() && lease.deadline === 15_000 + TTL - MARGIN)).toBe(true);
  });

  it('a lease missing from the answer is lost at once — only that one; the others go on', async () => {
    const { scheduler, store, keep, lost } = setup();
    const [a, b, c] = ['loc-a', 'loc-b', 'loc-c'].map((id) => keep(id));
    store.dropped.add('loc-b'); // another worker took it, or its epoch moved
    await scheduler.advanceTo(5_000);

    expect(lost).toEqual([
      { at: 5_000, locationId: 'loc-b', reason: expect.objectContaining({ code: 'not-held' }) },
    ]);
    expect(b.isValid()).toBe(false);
    expect([a.isValid(), c.isValid()]).toEqual([true, true]);
    expect(a.deadline).toBe(5_000 + TTL - MARGIN);

    await scheduler.advanceTo(30_000);
    expect(store.calls.at(-1)?.holdings.map((h) => h.locationId)).toEqual(['loc-a', 'loc-c']);
    expect(lost).toHaveLength(1);
  });

  it('a row renewed under another epoch does not confirm the lease it was asked for', async () => {
    const scheduler = new FakeScheduler();
    const lost: LeaseLostReason[] = [];
    const store = {
      acquire: jest.fn(),
      release: jest.fn(),
      renewAll: async () => [{ ...leaseOf('loc-1', 8) }],
    };
    const keeper = new LeaseKeeper(store, OWNER, {
      ttlMs: TTL,
      renewEveryMs: RENEW,
      safetyMarginMs: MARGIN,
      scheduler,
    });
    const kept = keeper.keep(leaseOf('loc-1', 7), 0, (reason) => lost.push(reason));
    await scheduler.advanceTo(5_000);
    expect(lost.map((reason) => reason.code)).toEqual(['not-held']);
    expect(kept.isValid()).toBe(false);
  });

  it('keeps the cadence while earlier renewals hang, instead of waiting for them', async () => {
    const { scheduler, store, keep } = setup();
    keep('loc-1');
    store.answer = 'hang';
    await scheduler.advanceTo(10_000);
    expect(store.sentAt).toEqual([5_000, 10_000]);
  });

  it('calls onLost before the lease can expire on the server when renewals hang, each at its own deadline', async () => {
    const { scheduler, store, keep, lost } = setup();
    const early = keep('loc-early');
    await scheduler.advanceTo(5_000); // confirmed renewal sent at 5 s: the server holds the lease to >= 20 s
    store.answer = 'hang';
    await scheduler.advanceTo(6_000);
    keep('loc-late'); // granted at 6 s, never renewed: the server holds it to >= 21 s

    await scheduler.advanceTo(5_000 + TTL - MARGIN - 1);
    expect(lost).toEqual([]);
    expect(early.isValid()).toBe(true);

    await scheduler.advanceTo(6_000 + TTL - MARGIN);
    expect(lost.map(({ at, locationId, reason }) => [at, locationId, reason.code])).toEqual([
      [17_000, 'loc-early', 'unconfirmed'],
      [18_000, 'loc-late', 'unconfirmed'],
    ]);
    // Each one earlier than the server could let it go.
    expect(lost[0].at).toBeLessThan(5_000 + TTL);
    expect(lost[1].at).toBeLessThan(6_000 + TTL);
    expect(early.isValid()).toBe(false);
  });

  it('counts the first deadline from when the granting request was sent', async () => {
    const { scheduler, store, keep, lost } = setup();
    store.answer = 'hang';
    keep('loc-1', -2_000);
    await scheduler.advanceTo(20_000);
    expect(lost.map((entry) => entry.at)).toEqual([-2_000 + TTL - MARGIN]);
  });

  it('does not keep a lease whose safe window passed before it was granted', async () => {
    const { scheduler, store, keep, lost } = setup();
    await scheduler.advanceTo(20_000);
    const kept = keep('loc-1', 20_000 - TTL + MARGIN);
    expect(kept.isValid()).toBe(false);
    expect(lost.map((entry) => entry.reason.code)).toEqual(['unconfirmed']);
    await scheduler.advanceTo(40_000);
    expect(store.calls).toEqual([]);
    expect(scheduler.pendingTimers).toBe(0);
  });

  it('calls onLost exactly once, and stops renewing when no lease is left, even when hung renewals answer later', async () => {
    const { scheduler, store, keep, lost } = setup();
    keep('loc-1');
    store.answer = 'hang';
    await scheduler.advanceTo(TTL - MARGIN);
    expect(lost).toHaveLength(1);
    const sentBeforeLoss = store.calls.length;

    store.releaseHung('none');
    await scheduler.advanceTo(120_000);
    store.answer = 'ok';
    await scheduler.advanceTo(240_000);

    expect(lost).toHaveLength(1);
    expect(store.calls).toHaveLength(sentBeforeLoss);
    expect(scheduler.pendingTimers).toBe(0);
  });

  it('starts renewing again when a lease is kept after an idle spell', async () => {
    const { scheduler, store, keep } = setup();
    keep('loc-1').stop();
    await scheduler.advanceTo(30_000);
    expect(store.calls).toEqual([]);
    keep('loc-2');
    await scheduler.advanceTo(35_000);
    expect(store.sentAt).toEqual([35_000]);
  });

  it('treats a renewal confirmed after the deadline as lost, even when the deadline timer runs late', async () => {
    const { scheduler, store, keep, lost } = setup({}, 2_000);
    const kept = keep('loc-1');
    store.answer = 'hang';
    await scheduler.advanceTo(7_000); // the 5 s renewal goes out 2 s late and hangs
    expect(store.sentAt).toEqual([7_000]);
    expect(kept.isValid()).toBe(true);

    await scheduler.advanceTo(13_000); // past the 12 s deadline; its timer is due only at 14 s
    expect(kept.isValid()).toBe(false);
    expect(lost).toEqual([]);
    store.releaseHung('ok');
    await scheduler.advance(0);

    expect(lost).toEqual([
      { at: 13_000, locationId: 'loc-1', reason: expect.objectContaining({ code: 'unconfirmed' }) },
    ]);
    await scheduler.advanceTo(30_000);
    expect(lost).toHaveLength(1);
  });

  it('retries a failed renewal sooner, and gives up at the deadline with the last error', async () => {
    const { scheduler, store, keep, lost, renewErrors } = setup();
    const kept = keep('loc-1');
    keep('loc-2');
    store.answer = 'error';
    await scheduler.advanceTo(8_000);
    expect(store.sentAt).toEqual([5_000, 6_000, 7_000, 8_000]);
    expect(renewErrors).toHaveLength(4);
    expect(renewErrors[0].leases).toBe(2);

    // One success in between buys a whole new window from when it was sent.
    store.answer = 'ok';
    await scheduler.advanceTo(9_000);
    expect(kept.deadline).toBe(9_000 + TTL - MARGIN);
    store.answer = 'error';
    await scheduler.advanceTo(9_000 + TTL - MARGIN - 1);
    expect(lost).toEqual([]);

    await scheduler.advanceTo(9_000 + TTL - MARGIN);
    expect(lost.map((entry) => entry.locationId)).toEqual(['loc-1', 'loc-2']);
    expect(lost[0].reason).toEqual({
      code: 'unconfirmed',
      message: expect.stringContaining('loc-1 epoch 7'),
      lastError: 'connection terminated',
    });
  });

  it('counts the safe window from when a renewal was sent, not from when it was answered', async () => {
    const { scheduler, store, keep } = setup();
    const kept = keep('loc-1');
    store.answer = 'hang';
    await scheduler.advanceTo(5_000); // sent at 5 s
    await scheduler.advanceTo(9_000);
    store.releaseHung('ok'); // answered at 9 s
    await scheduler.advance(0);
    expect(kept.deadline).toBe(5_000 + TTL - MARGIN);
  });

  it('moves the deadline only forward when renewals answer out of order', async () => {
    const { scheduler, store, keep } = setup();
    const kept = keep('loc-1');
    store.answer = 'hang';
    await scheduler.advanceTo(5_000); // sent at 5 s, hangs
    store.answer = 'ok';
    await scheduler.advanceTo(10_000); // sent at 10 s, confirmed at once
    expect(kept.deadline).toBe(10_000 + TTL - MARGIN);
    store.releaseHung('ok'); // the 5 s renewal answers last
    await scheduler.advance(1);
    expect(kept.deadline).toBe(10_000 + TTL - MARGIN);
  });

  it('does not judge a lease by a renewal sent before it was kept', async () => {
    const { scheduler, store, keep, lost } = setup();
    keep('loc-1');
    store.answer = 'hang';
    await scheduler.advanceTo(5_000);
    const late = keep('loc-2');
    store.releaseHung('none'); // the answer to a request that did not carry loc-2
    await scheduler.advance(0);
    expect(lost.map((entry) => entry.locationId)).toEqual(['loc-1']);
    expect(late.isValid()).toBe(true);
  });

  it('stop() of one lease leaves it out of later renewals, without onLost', async () => {
    const { scheduler, store, keep, lost } = setup();
    const stopped = keep('loc-1');
    keep('loc-2');
    await scheduler.advanceTo(5_000);
    stopped.stop();
    expect(stopped.isValid()).toBe(false);
    await scheduler.advanceTo(10_000);
    expect(store.calls.map((call) => call.holdings.map((h) => h.locationId))).toEqual([
      ['loc-1', 'loc-2'],
      ['loc-2'],
    ]);
    expect(lost).toEqual([]);
  });

  it('keeper.stop() ends renewals and watching: no more requests, no onLost, no timers', async () => {
    const { scheduler, store, keeper, keep, lost } = setup();
    const kept = keep('loc-1');
    await scheduler.advanceTo(5_000);
    store.answer = 'hang';
    await scheduler.advanceTo(10_000);
    keeper.stop();
    expect(kept.isValid()).toBe(false);
    expect(scheduler.pendingTimers).toBe(0);

    store.releaseHung('none');
    await scheduler.advanceTo(100_000);
    expect(store.sentAt).toEqual([5_000, 10_000]);
    expect(lost).toEqual([]);
    expect(() => keep('loc-2')).toThrow(/stopped/);
  });

  it('refuses a lease of another owner', () => {
    const { keeper } = setup();
    expect(() => keeper.keep({ ...leaseOf('loc-1'), ownerId: 'worker-b' }, 0, () => undefined)).toThrow(
      /owned by worker-b/,
    );
  });

  it('refuses a cadence that cannot land a renewal inside the safe window', () => {
    expect(() => setup({ renewEveryMs: TTL - MARGIN })).toThrow(RangeError);
    expect(() => setup({ safetyMarginMs: TTL })).toThrow(RangeError);
    expect(() => setup({ renewEveryMs: 0 })).toThrow(RangeError);
  });

  it('uses a safety margin of max(1 s, ttl / 3), at most half the ttl', () => {
    expect(defaultSafetyMarginMs(12_000)).toBe(4_000);
    expect(defaultSafetyMarginMs(3_000)).toBe(1_000);
    expect(defaultSafetyMarginMs(1_500)).toBe(750);
    expect(new LeaseKeeper({} as never, OWNER, { ttlMs: 12_000, renewEveryMs: 3_000 }).safetyMarginMs).toBe(
      4_000,
    );
  });

  describe('acquire', () => {
    it('keeps a granted lease, its first deadline counted from when the acquire was sent', async () => {
      const scheduler = new FakeScheduler();
      const store = new ScriptedStore(scheduler);
      let grant!: (lease: Lease | null) => void;
      store.acquire.mockImplementation(() => new Promise<Lease | null>((resolve) => (grant = resolve)));
      const keeper = new LeaseKeeper(store, OWNER, {
        ttlMs: TTL,
        renewEveryMs: RENEW,
        safetyMarginMs: MARGIN,
        scheduler,
      });
      const pending = keeper.acquire('loc-1', () => undefined);
      await scheduler.advanceTo(2_000); // the acquire takes 2 s to answer
      grant(leaseOf('loc-1'));
      const kept = await pending;

      expect(store.acquire).toHaveBeenCalledWith('loc-1', OWNER, TTL);
      expect(kept?.deadline).toBe(TTL - MARGIN);
      expect(kept?.isValid()).toBe(true);
      expect(keeper.size).toBe(1);
      await scheduler.advanceTo(7_000);
      expect(store.sentAt).toEqual([7_000]);
    });

    it('gives a lease back when the keeper was stopped while acquiring it', async () => {
      const { store, keeper } = setup();
      store.grant = leaseOf('loc-1');
      const pending = keeper.acquire('loc-1', () => undefined);
      keeper.stop();
      expect(await pending).toBeNull();
      expect(store.release).toHaveBeenCalledWith(expect.objectContaining({ locationId: 'loc-1', epoch: 7 }));
      expect(keeper.size).toBe(0);
    });

    it('returns null without timers when someone else holds the lease', async () => {
      const { scheduler, store, keeper } = setup();
      const kept = await keeper.acquire('loc-1', () => undefined);
      expect(kept).toBeNull();
      expect(scheduler.pendingTimers).toBe(0);
      await scheduler.advanceTo(30_000);
      expect(store.calls).toEqual([]);
    });
  });
});
