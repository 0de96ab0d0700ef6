import { performance } from 'node:perf_hooks';

/** Opaque handle of a scheduled callback. */
export type TimerHandle = object;

/**
 * The clock and timers a `LeaseKeeper` runs on. `now()` must be monotonic (milliseconds from any
 * origin): a wall clock stepped back by NTP would stretch the local safety deadline past the lease's
 * real expiry. Tests inject a fake to drive time by hand.
 */
export interface LeaseScheduler {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemLeaseScheduler: LeaseScheduler = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    // Lease timers alone must not keep a process alive that is otherwise done.
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
