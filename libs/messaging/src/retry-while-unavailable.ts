import { ErrorCode, NatsError } from 'nats';
import type { Logger } from 'pino';

export interface RetryWhileUnavailableOptions {
  logger: Logger;
  /** Pauses between attempts; the last one repeats. */
  delaysMs?: readonly number[];
  /** Checked before each retry; when true the last error is rethrown. */
  shouldStop?: () => boolean;
  /** Waits between attempts; injectable so a stopping caller can cut the pause short. */
  pause?: (ms: number) => Promise<void>;
}

const DEFAULT_DELAYS_MS = [250, 1_000, 2_000, 5_000, 10_000];

/**
 * Runs `fn` until it succeeds or fails with something other than "NATS did not answer". Boot-time
 * JetStream calls use it so that a server restarting while a pod starts delays the pod instead of
 * crashing it, while a real misconfiguration still fails at once.
 */
export async function retryWhileUnavailable<T>(
  what: string,
  fn: () => Promise<T>,
  options: RetryWhileUnavailableOptions,
): Promise<T> {
  const delays = options.delaysMs ?? DEFAULT_DELAYS_MS;
  const pause = options.pause ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isNatsUnavailable(err) || options.shouldStop?.()) throw err;
      const delayMs = delays[Math.min(attempt, delays.length) - 1] ?? 1_000;
      options.logger.warn({ err, attempt, delayMs }, `${what}: JetStream unavailable, retrying`);
      await pause(delayMs);
    }
  }
}

/**
 * True when a failure means "NATS/JetStream did not answer" (timeout, no responders, connection
 * down) rather than "NATS answered no". Looks through `cause`, as provisioning wraps client errors.
 */
export function isNatsUnavailable(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof NatsError) {
      switch (current.code) {
        case ErrorCode.Timeout:
        case ErrorCode.NoResponders:
        case ErrorCode.ConnectionClosed:
        case ErrorCode.ConnectionDraining:
        case ErrorCode.ConnectionRefused:
        case ErrorCode.ConnectionTimeout:
        case ErrorCode.Disconnect:
          return true;
        default:
          return false;
      }
    }
    current = current.cause;
  }
  return false;
}
