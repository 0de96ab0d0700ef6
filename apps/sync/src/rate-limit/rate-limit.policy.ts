/**
 * The arithmetic of the shared GHL limiter, kept pure so it can be tested without a database.
 *
 * GHL counts requests per app and location in a sliding window (100 per 10 s, GHL-CONTRACT §7). A
 * token bucket cannot promise "never a 429" against a sliding window (it allows a full bucket plus the
 * refill inside one window), so the shared state is the window's log of request times, and a request
 * may go only while the log holds fewer than `max` live entries.
 */

/**
 * Reserved slots are stamped a little in the future. GHL stamps a request when it arrives; ours are
 * reserved up to `batchTtlMs` before sending, and network latency varies. Stamping late keeps our
 * window from freeing a slot before GHL's does. 4 % of the window, at most 400 ms (GHL's 10 s window):
 * it costs that share of the rate, and buys "never a 429".
 */
export const MAX_STAMP_AHEAD_MS = 400;

export function stampAheadMs(intervalMs: number): number {
  return Math.min(MAX_STAMP_AHEAD_MS, intervalMs / 25);
}

/** A replica reserves a few slots at once and must use them within this long, or they lapse unused. */
export function batchTtlMs(intervalMs: number): number {
  return stampAheadMs(intervalMs) / 2;
}

/** How many slots one reservation asks for: what is waiting locally, at most 10 % of the window. */
export function batchSize(waiting: number, max: number): number {
  const cap = Math.max(1, Math.min(20, Math.ceil(max / 10)));
  return Math.max(1, Math.min(cap, waiting));
}

/** Milliseconds from `nowMs` to the next UTC midnight, when the daily budget starts over. */
export function msUntilUtcMidnight(nowMs: number): number {
  const next = new Date(nowMs);
  next.setUTCHours(24, 0, 0, 0);
  return next.getTime() - nowMs;
}

/** `YYYY-MM-DD` (UTC) of an epoch millisecond. */
export function utcDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

export interface ReservationState {
  granted: number;
  nowMs: number;
  /** Oldest request time still in the window (before this grant), null when the window was empty. */
  oldestMs: number | null;
  liveCount: number;
  /** Every entry of the window after this grant (database clock, epoch ms). */
  stamps: number[];
  /** The entry this grant's slots carry. */
  stampMs: number;
  max: number;
  intervalMs: number;
  dailyLimit: number;
  dayCount: number;
  blockedUntilMs: number | null;
}

/** When nothing was granted: how long until a slot can be, by the reason it was refused. */
export function waitAfterRefusal(state: ReservationState): {
  waitMs: number;
  reason: 'blocked' | 'window' | 'daily';
} {
  if (state.blockedUntilMs !== null && state.blockedUntilMs > state.nowMs) {
    return { waitMs: Math.ceil(state.blockedUntilMs - state.nowMs), reason: 'blocked' };
  }
  if (state.dayCount >= state.dailyLimit) return { waitMs: msUntilUtcMidnight(state.nowMs), reason: 'daily' };
  const oldest = state.oldestMs ?? state.nowMs;
  return { waitMs: Math.max(1, Math.ceil(oldest + state.intervalMs - state.nowMs) + 1), reason: 'window' };
}

/**
 * When a caller refused now can have a slot, by simulating the window: the entries it holds (local
 * clock) plus the slots already promised to earlier refused callers. The new caller gets the time at
 * which the window has room for it: a burst of 200 refused events for a window of 100 is told "in one
 * window" for the first 100 and "in two windows" for the rest, so each comes back once, when its slot
 * is free, instead of all at the first free slot (where all but one would be refused again and spend
 * a delivery each time).
 */
export function projectedSlot(input: {
  nowMs: number;
  /** Request times counted in the window (sorted or not, past or future). */
  window: readonly number[];
  /** Stamps of slots promised to earlier refused callers. */
  promised: readonly number[];
  max: number;
  intervalMs: number;
  /** Not before this (a 429's pause). */
  notBeforeMs?: number;
}): number {
  const live = [...input.window.filter((s) => s > input.nowMs - input.intervalMs), ...input.promised].sort(
    (a, b) => a - b,
  );
  let at = Math.max(input.nowMs, input.notBeforeMs ?? 0);
  // The window has room at `at` once fewer than `max` entries are younger than the interval.
  if (live.length >= input.max) at = Math.max(at, live[live.length - input.max] + input.intervalMs + 1);
  return at;
}

/** Spreads retries of a 429 over a short span instead of one instant. */
export function withJitter(waitMs: number, intervalMs: number, random: () => number = Math.random): number {
  const spread = Math.min(1_000, Math.max(50, intervalMs / 10));
  return Math.round(waitMs + random() * spread);
}

/**
 * How many slots GHL's answer says are used beyond what our log holds: GHL's `X-RateLimit-Remaining`
 * is the truth (another client of the same app and location, or a clock we misjudged).
 */
export function missingStamps(max: number, ghlRemaining: number, liveCount: number): number {
  return Math.max(0, max - ghlRemaining - liveCount);
}
