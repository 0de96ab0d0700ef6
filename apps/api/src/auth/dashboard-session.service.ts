import { Inject, Injectable } from '@nestjs/common';
import type { ApiConfig } from '@app/config';
import { locationIdSchema } from '@app/contracts';
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { API_CONFIG } from '../api.tokens';

/** Marks a bearer token as a dashboard session rather than an API key. */
export const DASHBOARD_TOKEN_PREFIX = 'dsh1.';

export type DashboardSessionOrigin = 'ghl' | 'dev' | 'install';

const claimsSchema = z.object({
  loc: locationIdSchema,
  sub: z.string().max(200).nullable(),
  via: z.enum(['ghl', 'dev', 'install']),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type DashboardClaims = z.infer<typeof claimsSchema>;

export interface MintedSession {
  token: string;
  expiresAt: Date;
  locationId: string;
}

/**
 * Short-lived, stateless sessions for the embedded page: `dsh1.<claims>.<HMAC-SHA256>`, scoped to one
 * location. The key is derived from ENCRYPTION_KEY (HKDF, its own label), so there is no extra secret to
 * provision and rotating ENCRYPTION_KEY ends every session. Nothing is stored: a session lives until it
 * expires, which is why the lifetime is short.
 */
@Injectable()
export class DashboardSessionService {
  private readonly key: Buffer;
  private readonly ttlMs: number;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.key = Buffer.from(
      hkdfSync(
        'sha256',
        Buffer.from(config.ENCRYPTION_KEY, 'base64'),
        'wa-bridge',
        'dashboard-session-v1',
        32,
      ),
    );
    this.ttlMs = config.DASHBOARD_SESSION_TTL;
  }

  mint(
    locationId: string,
    userId: string | null,
    via: DashboardSessionOrigin,
    now = Date.now(),
  ): MintedSession {
    const claims: DashboardClaims = {
      loc: locationId,
      sub: userId,
      via,
      iat: Math.floor(now / 1000),
      exp: Math.floor((now + this.ttlMs) / 1000),
    };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return {
      token: `${DASHBOARD_TOKEN_PREFIX}${body}.${this.sign(body)}`,
      expiresAt: new Date(claims.exp * 1000),
      locationId,
    };
  }

  /** The claims of a valid, unexpired token; null for anything else (never throws on bad input). */
  verify(token: string, now = Date.now()): DashboardClaims | null {
    if (!token.startsWith(DASHBOARD_TOKEN_PREFIX)) return null;
    const [body, signature, ...rest] = token.slice(DASHBOARD_TOKEN_PREFIX.length).split('.');
    if (!body || !signature || rest.length > 0) return null;
    const expected = Buffer.from(this.sign(body));
    const presented = Buffer.from(signature);
    if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) return null;
    let claims: DashboardClaims;
    try {
      const parsed = claimsSchema.safeParse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
      if (!parsed.success) return null;
      claims = parsed.data;
    } catch {
      return null;
    }
    return claims.exp * 1000 > now ? claims : null;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(`${DASHBOARD_TOKEN_PREFIX}${body}`).digest('base64url');
  }
}
