import type { SessionState } from '@app/contracts';

/**
 * What a session does after its WhatsApp socket closed. One table for every code Baileys reports
 * (`DisconnectReason`), so the behaviour on each code can be read in one place and is tested
 * exhaustively. The runner only executes the decision.
 */
export const DISCONNECT_CODES = {
  loggedOut: 401,
  forbidden: 403,
  timedOut: 408,
  multideviceMismatch: 411,
  connectionClosed: 428,
  connectionReplaced: 440,
  badSession: 500,
  unavailableService: 503,
  restartRequired: 515,
} as const;

export interface DisconnectContext {
  code: number;
  /** Baileys' error message, e.g. `QR refs attempts ended`. */
  message: string;
  /** Whether the session has linked credentials (it got past the QR at some point). */
  paired: boolean;
  /** Consecutive failed connects before this one (0 after a successful open). */
  failedAttempts: number;
  /** Whether this worker still holds the session's lease (re-checked against the database). */
  leaseHeld: boolean;
  /** `conflict`/440 closes seen recently while this worker held the lease. */
  recentConflicts: number;
}

export interface DisconnectPolicyOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Consecutive failures after which the session gives up with state `failed`. */
  maxFailedAttempts: number;
  /** 440s while holding the lease after which an operator is alerted. */
  conflictAlertThreshold: number;
  /** Uniform random in [0, 1); injected so tests are deterministic. */
  random: () => number;
}

export const DEFAULT_DISCONNECT_POLICY: Omit<DisconnectPolicyOptions, 'random'> = {
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  maxFailedAttempts: 10,
  conflictAlertThreshold: 3,
};

export type DisconnectDecision =
  | {
      action: 'reconnect';
      delayMs: number;
      state: 'connecting' | 'reconnecting';
      reason: string;
      alert: boolean;
    }
  | {
      action: 'stop';
      state: Extract<SessionState, 'logged_out' | 'forbidden' | 'qr_timeout' | 'failed'>;
      clearAuth: boolean;
      reason: string;
    }
  /** Another worker owns the session now: close quietly and let the owner report the state. */
  | { action: 'yield'; reason: string };

/** Exponential backoff with full jitter over [delay/2, delay]: spreads a reconnect storm. */
export function backoffDelay(failedAttempts: number, options: DisconnectPolicyOptions): number {
  const exp = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(failedAttempts, 16));
  return Math.round(exp / 2 + (exp / 2) * options.random());
}

export function decideDisconnect(
  ctx: DisconnectContext,
  options: DisconnectPolicyOptions,
): DisconnectDecision {
  // Whatever the code, a worker that lost the lease must not touch the socket again.
  if (!ctx.leaseHeld) {
    return { action: 'yield', reason: `lease is held elsewhere (closed with ${ctx.code})` };
  }
  const retry = (reason: string, alert = false): DisconnectDecision =>
    ctx.failedAttempts + 1 >= options.maxFailedAttempts
      ? {
          action: 'stop',
          state: 'failed',
          clearAuth: false,
          reason: `gave up after ${ctx.failedAttempts + 1} failed connects; last: ${reason}`,
        }
      : {
          action: 'reconnect',
          delayMs: backoffDelay(ctx.failedAttempts, options),
          state: 'reconnecting',
          reason,
          alert,
        };

  switch (ctx.code) {
    case DISCONNECT_CODES.loggedOut:
      return {
        action: 'stop',
        state: 'logged_out',
        clearAuth: true,
        reason: 'WhatsApp logged this device out (401)',
      };
    case DISCONNECT_CODES.multideviceMismatch:
      return {
        action: 'stop',
        state: 'logged_out',
        clearAuth: true,
        reason: 'WhatsApp rejected this linked device (411 multi-device mismatch); link it again',
      };
    case DISCONNECT_CODES.forbidden:
      return {
        action: 'stop',
        state: 'forbidden',
        clearAuth: false,
        reason: 'WhatsApp refused this number (403)',
      };
    case DISCONNECT_CODES.restartRequired:
      // Normal right after pairing: WhatsApp asks the new device to log in again at once.
      return {
        action: 'reconnect',
        delayMs: 0,
        state: 'connecting',
        reason: 'restart required (515)',
        alert: false,
      };
    case DISCONNECT_CODES.connectionReplaced:
      // We hold the lease, so no other worker of ours should have a socket: another client is using
      // these credentials. Back off (never a tight loop) and alert when it repeats.
      return retry(
        'another connection replaced this one (440 conflict)',
        ctx.recentConflicts + 1 >= options.conflictAlertThreshold,
      );
    case DISCONNECT_CODES.timedOut:
      if (!ctx.paired && /QR refs attempts ended/i.test(ctx.message)) {
        return {
          action: 'stop',
          state: 'qr_timeout',
          clearAuth: true,
          reason: 'nobody scanned the QR code in time; start again to get a new one',
        };
      }
      return retry('connection timed out (408)');
    case DISCONNECT_CODES.connectionClosed:
      return retry('connection closed (428)');
    case DISCONNECT_CODES.badSession:
      return retry('bad session (500)');
    case DISCONNECT_CODES.unavailableService:
      return retry('WhatsApp service unavailable (503)');
    default:
      return retry(`closed with code ${ctx.code}: ${ctx.message || 'no reason given'}`);
  }
}
