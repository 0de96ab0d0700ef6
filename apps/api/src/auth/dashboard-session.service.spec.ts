import { DEV_SECRETS, parseEnv, apiConfigSchema } from '@app/config';
import { randomBytes } from 'node:crypto';
import { DashboardSessionService } from './dashboard-session.service';

const service = (key = DEV_SECRETS.ENCRYPTION_KEY) =>
  new DashboardSessionService(
    parseEnv(apiConfigSchema, { ENCRYPTION_KEY: key, DASHBOARD_SESSION_TTL: '15m' }),
  );

describe('DashboardSessionService', () => {
  const sessions = service();
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('mints a token that verifies to its location, user and origin until it expires', () => {
    const minted = sessions.mint('locA', 'user-1', 'ghl', now);
    expect(minted.expiresAt.getTime()).toBe(now + 15 * 60_000);
    expect(sessions.verify(minted.token, now + 60_000)).toMatchObject({
      loc: 'locA',
      sub: 'user-1',
      via: 'ghl',
    });
    expect(sessions.verify(minted.token, now + 15 * 60_000)).toBeNull();
  });

  it('refuses a token whose claims were edited, whose signature was cut, or that another key signed', () => {
    const { token } = sessions.mint('locA', null, 'dev', now);
    const [prefix, body, sig] = token.split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, loc: 'locB' })).toString('base64url');
    expect(sessions.verify(`${prefix}.${forged}.${sig}`, now)).toBeNull();
    expect(sessions.verify(`${prefix}.${body}.${sig.slice(0, -2)}`, now)).toBeNull();
    expect(sessions.verify(`${prefix}.${body}`, now)).toBeNull();
    expect(sessions.verify(`${token}.extra`, now)).toBeNull();
    expect(sessions.verify('wak_not-a-session', now)).toBeNull();
    expect(service(randomBytes(32).toString('base64')).verify(token, now)).toBeNull();
  });
});
