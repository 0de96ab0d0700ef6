import { Injectable } from '@nestjs/common';
import { GhlApiClient, type GhlAuth } from '../ghl/ghl-api.client';
import { GhlRateLimitedError, GhlTokenInvalidError } from '../ghl/ghl.errors';
import { GhlRateLimiter } from '../rate-limit/ghl-rate-limiter.service';
import { GhlTokenService, resourceKey, type LocationCredential } from './ghl-token.service';

/**
 * Every GHL call made for a location goes through here: the location's token (refreshed ahead of
 * expiry), a slot of its rate limit, and on a 401 one refresh (single-flight) and one retry. A 429
 * pauses the location on every replica before the error goes up.
 */
@Injectable()
export class GhlGateway {
  constructor(
    readonly api: GhlApiClient,
    private readonly tokens: GhlTokenService,
    private readonly limiter: GhlRateLimiter,
  ) {}

  async call<T>(locationId: string, work: (auth: GhlAuth) => Promise<T>): Promise<T> {
    const key = resourceKey('location', locationId);
    const credential = await this.tokens.credentialFor(locationId);
    try {
      return await this.attempt(key, credential, work);
    } catch (err) {
      if (!(err instanceof GhlTokenInvalidError)) throw err;
      const fresh = await this.tokens.afterUnauthorized(credential);
      return this.attempt(key, fresh, work);
    }
  }

  /** Throws at once when this location's rate limit is known to have no slot now (no database call). */
  precheckRateLimit(locationId: string): void {
    this.limiter.precheck(resourceKey('location', locationId));
  }

  /** The token kind of a location (a Private Integration token only syncs contacts). */
  async tokenKind(locationId: string): Promise<LocationCredential['kind']> {
    return (await this.tokens.credentialFor(locationId)).kind;
  }

  private async attempt<T>(key: string, credential: LocationCredential, work: (auth: GhlAuth) => Promise<T>) {
    const lease = await this.limiter.acquire(key);
    try {
      return await work({ accessToken: credential.accessToken, resourceKey: key });
    } catch (err) {
      if (err instanceof GhlRateLimitedError) await this.limiter.penalize(key, err.retryAfterMs);
      throw err;
    } finally {
      this.limiter.settle(lease, Date.now());
    }
  }
}
