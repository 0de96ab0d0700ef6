export interface EventuallyOptions {
  /** Give up after this long; the last failure is rethrown. */
  timeoutMs?: number;
  /** Pause between attempts. */
  intervalMs?: number;
}

/**
 * Retries `fn` until it stops throwing (or resolves), or the time is up; then rethrows the last
 * error so a failing test shows the real assertion, not a generic timeout. Use it instead of sleeps.
 */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  { timeoutMs = 5_000, intervalMs = 50 }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      return await fn();
    } catch (err) {
      if (Date.now() + intervalMs > deadline) {
        if (err instanceof Error) {
          err.message = `${err.message}\n(eventually: still failing after ${attempts} attempts in ${timeoutMs} ms)`;
        }
        throw err;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
