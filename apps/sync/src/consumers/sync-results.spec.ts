import { parseEnv, syncConfigSchema } from '@app/config';
import { PermanentError, TransientError, type EventBus } from '@app/messaging';
import { pino } from 'pino';
import {
  GhlPermanentError,
  GhlRateLimitedError,
  GhlTokenInvalidError,
  GhlTransientError,
} from '../ghl/ghl.errors';
import { LocationInactiveError, NotInstalledError, ReauthRequiredError } from '../tokens/token.errors';
import { REAUTH_DEAD_LETTER_REASON, SyncResults } from './sync-results';

/** A bus that fails the test if anything is published: the mapping must not publish. */
const strictBus = new Proxy({} as EventBus, {
  get: (_target, prop) => {
    throw new Error(`unexpected EventBus.${String(prop)}`);
  },
});

describe('SyncResults.settlementError', () => {
  const config = parseEnv(syncConfigSchema, { GHL_REAUTH_RETRY_DELAY: '7m' });
  const results = new SyncResults(strictBus, config, pino({ level: 'silent' }));
  const notFinal = { isFinalDelivery: false };
  const final = { isFinalDelivery: true };

  it('keeps what is already a settlement decision', () => {
    const transient = new TransientError('x');
    const permanent = new PermanentError('y');
    expect(results.settlementError(transient, notFinal)).toBe(transient);
    expect(results.settlementError(permanent, notFinal)).toBe(permanent);
  });

  it('retries GHL 5xx, timeouts and a second 401 with backoff', () => {
    for (const err of [
      new GhlTransientError('contacts.upsert', '502', 502, true),
      new GhlTokenInvalidError('contacts.upsert', 'Invalid JWT'),
    ]) {
      const settled = results.settlementError(err, notFinal);
      expect(settled).toBeInstanceOf(TransientError);
      expect((settled as TransientError).retryAfterMs).toBeUndefined();
    }
  });

  it('retries a 429 after the time GHL asked, plus jitter', () => {
    const settled = results.settlementError(
      new GhlRateLimitedError('contacts.upsert', 2_000, null),
      notFinal,
    );
    expect(settled).toBeInstanceOf(TransientError);
    expect((settled as TransientError).retryAfterMs).toBeGreaterThanOrEqual(2_000);
    expect((settled as TransientError).retryAfterMs).toBeLessThanOrEqual(2_200);
  });

  it('dead-letters other GHL 4xx with status and body', () => {
    const settled = results.settlementError(
      new GhlPermanentError('conversations.add_inbound', 422, '{"message":["type must be one of ..."]}'),
      notFinal,
    );
    expect(settled).toBeInstanceOf(PermanentError);
    expect(settled.message).toBe('GHL refused conversations.add_inbound (422)');
    expect((settled as PermanentError).detail).toContain('type must be one of');
  });

  it('parks a blocked location for the re-auth delay, then dead-letters with the reason', () => {
    for (const err of [
      new ReauthRequiredError('loc1', 'invalid grant'),
      new NotInstalledError('loc1'),
      new LocationInactiveError('loc1'),
    ]) {
      const parked = results.settlementError(err, notFinal);
      expect(parked).toBeInstanceOf(TransientError);
      expect((parked as TransientError).retryAfterMs).toBe(7 * 60_000);
    }
    const last = results.settlementError(new ReauthRequiredError('loc1', 'invalid grant'), final);
    expect(last).toBeInstanceOf(PermanentError);
    expect(last.message).toBe(REAUTH_DEAD_LETTER_REASON);
  });
});
