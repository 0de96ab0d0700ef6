/** How long to wait before the next delivery of a message whose handler failed. */
export interface BackoffPolicy {
  /** Delay after the 1st, 2nd, ... failed delivery; the last entry repeats. */
  delaysMs: readonly number[];
  /** Spread each delay uniformly by ±jitter (0.2 = ±20%) so retries of a burst do not line up. */
  jitter: number;
}

// Doubling from 1 s and capped at a minute: quick for a blip, gentle for an outage.
export const DEFAULT_BACKOFF_MS: readonly number[] = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000];
export const DEFAULT_BACKOFF_JITTER = 0.2;

export function backoffPolicy(
  delaysMs: readonly number[] = DEFAULT_BACKOFF_MS,
  jitter = DEFAULT_BACKOFF_JITTER,
) {
  if (delaysMs.length === 0) throw new Error('backoff needs at least one delay');
  if (delaysMs.some((d) => !Number.isFinite(d) || d < 0)) {
    throw new Error(`backoff delays must be finite and >= 0, got ${JSON.stringify(delaysMs)}`);
  }
  if (!(jitter >= 0 && jitter <= 1)) throw new Error(`backoff jitter must be within [0, 1], got ${jitter}`);
  return { delaysMs: [...delaysMs], jitter } satisfies BackoffPolicy;
}

/**
 * Delay after the `failedDeliveries`-th failed delivery (1-based). `random` is injectable so the
 * jitter can be tested; it must return a value in [0, 1).
 */
export function backoffDelayMs(
  failedDeliveries: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
) {
  const { delaysMs, jitter } = policy;
  const index = Math.min(Math.max(1, Math.floor(failedDeliveries)), delaysMs.length) - 1;
  const base = delaysMs[index] ?? 0;
  const spread = 1 + jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base * spread));
}
