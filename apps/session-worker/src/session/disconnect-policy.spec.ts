import {
  DEFAULT_DISCONNECT_POLICY,
  DISCONNECT_CODES,
  DisconnectContext,
  backoffDelay,
  decideDisconnect,
} from './disconnect-policy';

const options = { ...DEFAULT_DISCONNECT_POLICY, random: () => 0.5 };
const base: DisconnectContext = {
  code: 428,
  message: 'Connection Terminated',
  paired: true,
  failedAttempts: 0,
  leaseHeld: true,
  recentConflicts: 0,
};
const decide = (over: Partial<DisconnectContext>) => decideDisconnect({ ...base, ...over }, options);

describe('disconnect policy', () => {
  it('401 logs out: clear auth, state logged_out, no reconnect', () => {
    expect(decide({ code: 401 })).toEqual({
      action: 'stop',
      state: 'logged_out',
      clearAuth: true,
      reason: expect.stringContaining('401'),
    });
  });

  it('411 needs a new link, like a logout', () => {
    expect(decide({ code: 411 })).toMatchObject({ action: 'stop', state: 'logged_out', clearAuth: true });
  });

  it('403 stops with state forbidden and keeps the credentials', () => {
    expect(decide({ code: 403 })).toMatchObject({ action: 'stop', state: 'forbidden', clearAuth: false });
  });

  it('515 reconnects at once', () => {
    expect(decide({ code: 515 })).toMatchObject({ action: 'reconnect', delayMs: 0, state: 'connecting' });
  });

  it.each([408, 428, 500, 503, 999])('%i reconnects with backoff and jitter', (code) => {
    const decision = decide({ code, failedAttempts: 3 });
    expect(decision).toMatchObject({ action: 'reconnect', state: 'reconnecting' });
    if (decision.action !== 'reconnect') throw new Error('unreachable');
    // attempt 3: 1 s * 2^3 = 8 s, jittered into [4 s, 8 s]; random 0.5 → 6 s
    expect(decision.delayMs).toBe(6_000);
  });

  it('408 after the QR refs ran out on an unpaired session is qr_timeout, not a retry', () => {
    expect(decide({ code: 408, message: 'QR refs attempts ended', paired: false })).toMatchObject({
      action: 'stop',
      state: 'qr_timeout',
    });
    // The same code on a linked session is a lost connection.
    expect(decide({ code: 408, message: 'Connection was lost', paired: true })).toMatchObject({
      action: 'reconnect',
    });
  });

  it('440 yields when the lease is elsewhere', () => {
    expect(decide({ code: 440, leaseHeld: false })).toEqual({
      action: 'yield',
      reason: expect.stringContaining('lease is held elsewhere'),
    });
  });

  it('440 while holding the lease backs off, and alerts on repeat', () => {
    expect(decide({ code: 440, recentConflicts: 0 })).toMatchObject({ action: 'reconnect', alert: false });
    const repeated = decide({ code: 440, recentConflicts: 2 });
    expect(repeated).toMatchObject({ action: 'reconnect', alert: true });
    if (repeated.action !== 'reconnect') throw new Error('unreachable');
    expect(repeated.delayMs).toBeGreaterThan(0);
  });

  it.each(Object.values(DISCONNECT_CODES))('any code (%i) yields when the lease is lost', (code) => {
    expect(decide({ code, leaseHeld: false }).action).toBe('yield');
  });

  it('gives up with state failed after the maximum of consecutive failures', () => {
    const decision = decide({ code: 428, failedAttempts: options.maxFailedAttempts - 1 });
    expect(decision).toMatchObject({ action: 'stop', state: 'failed', clearAuth: false });
    if (decision.action !== 'stop') throw new Error('unreachable');
    expect(decision.reason).toContain('connection closed (428)');
    expect(decide({ code: 428, failedAttempts: options.maxFailedAttempts - 2 }).action).toBe('reconnect');
  });

  it('backoff grows exponentially, is capped, and jitters within [half, full]', () => {
    const at = (n: number, r: number) => backoffDelay(n, { ...options, random: () => r });
    expect([0, 1, 2, 3].map((n) => at(n, 0.999999))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(at(3, 0)).toBe(4_000);
    expect(at(20, 0.999999)).toBe(60_000);
    expect(at(50, 0)).toBe(30_000);
  });
});
