import {
  batchSize,
  batchTtlMs,
  missingStamps,
  msUntilUtcMidnight,
  retrySlot,
  stampAheadMs,
  utcDay,
  waitAfterRefusal,
  withJitter,
  type ReservationState,
} from './rate-limit.policy';

const base: ReservationState = {
  granted: 0,
  nowMs: 1_000_000,
  oldestMs: 995_000,
  liveCount: 100,
  max: 100,
  intervalMs: 10_000,
  dailyLimit: 200_000,
  dayCount: 5,
  blockedUntilMs: null,
};

describe('rate-limit policy', () => {
  it('holds a slot 4 % of the window longer than GHL, at most 400 ms, and lets batches live half of that', () => {
    expect(stampAheadMs(10_000)).toBe(400);
    expect(stampAheadMs(1_000)).toBe(40);
    expect(stampAheadMs(60_000)).toBe(400);
    expect(batchTtlMs(10_000)).toBe(200);
  });

  it('reserves what is waiting, at most 5 % of the window (1 to 10 slots)', () => {
    expect(batchSize(1, 100)).toBe(1);
    expect(batchSize(30, 100)).toBe(5);
    expect(batchSize(30, 1_000)).toBe(10);
    expect(batchSize(0, 3)).toBe(1);
  });

  it('waits for the oldest request to leave the window', () => {
    expect(waitAfterRefusal(base)).toEqual({ waitMs: 5_001, reason: 'window' });
  });

  it('waits out a 429 block before anything else', () => {
    expect(waitAfterRefusal({ ...base, blockedUntilMs: 1_003_000 })).toEqual({
      waitMs: 3_000,
      reason: 'blocked',
    });
  });

  it('waits for the next UTC day when the daily budget is spent', () => {
    const now = Date.parse('2026-11-21T23:59:00.000Z');
    expect(waitAfterRefusal({ ...base, nowMs: now, dayCount: 200_000 })).toEqual({
      waitMs: 60_000,
      reason: 'daily',
    });
    expect(msUntilUtcMidnight(Date.parse('2026-11-21T00:00:00.000Z'))).toBe(86_400_000);
    expect(utcDay(now)).toBe('2026-11-21');
  });

  it('spreads refused callers at the pace the window frees slots, from the earliest free slot', () => {
    const noJitter = () => 0;
    const first = retrySlot({
      nowMs: 0,
      earliestMs: 5_000,
      lastAssignedAt: 0,
      max: 100,
      intervalMs: 10_000,
      random: noJitter,
    });
    expect(first).toEqual({ atMs: 5_000, waitMs: 5_000 });
    const second = retrySlot({
      nowMs: 0,
      earliestMs: 5_000,
      lastAssignedAt: first.atMs,
      max: 100,
      intervalMs: 10_000,
      random: noJitter,
    });
    expect(second.atMs).toBe(5_104);
    // An old schedule does not delay a caller when the window is free again.
    expect(
      retrySlot({
        nowMs: 20_000,
        earliestMs: 20_001,
        lastAssignedAt: 5_104,
        max: 100,
        intervalMs: 10_000,
        random: noJitter,
      }).atMs,
    ).toBe(20_001);
  });

  it('adds at most half a slot of jitter', () => {
    const slot = retrySlot({
      nowMs: 0,
      earliestMs: 1_000,
      lastAssignedAt: 0,
      max: 100,
      intervalMs: 10_000,
      random: () => 0.999,
    });
    expect(slot.waitMs).toBeGreaterThan(1_000);
    expect(slot.waitMs).toBeLessThanOrEqual(1_052);
    expect(withJitter(1_000, 10_000, () => 0.5)).toBe(1_500);
  });

  it('counts the slots GHL says are used beyond our log', () => {
    expect(missingStamps(100, 10, 80)).toBe(10);
    expect(missingStamps(100, 30, 80)).toBe(0);
  });
});
