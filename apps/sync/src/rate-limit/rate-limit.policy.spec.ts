import {
  batchSize,
  batchTtlMs,
  missingStamps,
  msUntilUtcMidnight,
  projectedSlot,
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
  stamps: [],
  stampMs: 1_000_400,
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

  it('reserves what is waiting, at most 10 % of the window (1 to 20 slots)', () => {
    expect(batchSize(1, 100)).toBe(1);
    expect(batchSize(30, 100)).toBe(10);
    expect(batchSize(30, 1_000)).toBe(20);
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

  it('tells each refused caller when the window, with the slots promised before, has room for it', () => {
    // A full window of 4 taken at t=0 (stamped at 40), interval 1 s.
    const window = [40, 40, 40, 40];
    const promised: number[] = [];
    const slots: number[] = [];
    for (let i = 0; i < 8; i++) {
      const at = projectedSlot({ nowMs: 50, window, promised, max: 4, intervalMs: 1_000 });
      promised.push(at + 40);
      slots.push(at);
    }
    // Four come back when the first four leave the window, four one window later: once each.
    expect(slots).toEqual([1_041, 1_041, 1_041, 1_041, 2_082, 2_082, 2_082, 2_082]);
  });

  it('gives a slot at once when the window has room, and never before a 429 pause ends', () => {
    expect(projectedSlot({ nowMs: 5_000, window: [100, 200], promised: [], max: 4, intervalMs: 1_000 })).toBe(
      5_000,
    );
    // Old entries no longer count.
    expect(
      projectedSlot({ nowMs: 5_000, window: [1, 2, 3, 4], promised: [], max: 4, intervalMs: 1_000 }),
    ).toBe(5_000);
    expect(
      projectedSlot({
        nowMs: 5_000,
        window: [],
        promised: [],
        max: 4,
        intervalMs: 1_000,
        notBeforeMs: 7_000,
      }),
    ).toBe(7_000);
  });

  it('spreads a 429 retry over a short span', () => {
    expect(withJitter(1_000, 10_000, () => 0.5)).toBe(1_500);
  });

  it('counts the slots GHL says are used beyond our log', () => {
    expect(missingStamps(100, 10, 80)).toBe(10);
    expect(missingStamps(100, 30, 80)).toBe(0);
  });
});
