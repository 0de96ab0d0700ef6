import { Inject, Injectable } from '@nestjs/common';
import type { ApiConfig } from '@app/config';
import type { Response } from 'express';
import { API_CONFIG } from '../api.tokens';
import { ApiError } from '../http/api-error';
import { TokenBucketLimiter } from './token-bucket';

/** Per-credential (or, before a credential is known, per-IP) request budget on /api. */
@Injectable()
export class RateLimitService {
  private readonly limiter: TokenBucketLimiter;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.limiter = new TokenBucketLimiter(config.API_RATE_LIMIT_PER_SECOND, config.API_RATE_LIMIT_BURST);
  }

  /** Spends one request of `key`'s budget or throws 429 with `Retry-After`. */
  consume(key: string, res: Response): void {
    const result = this.limiter.take(key);
    res.setHeader('X-RateLimit-Limit', String(this.limiter.burst));
    if (result.ok) {
      res.setHeader('X-RateLimit-Remaining', String(result.remaining));
      return;
    }
    res.setHeader('X-RateLimit-Remaining', '0');
    throw new ApiError(429, 'rate_limited', 'too many requests with this credential; slow down', {
      retryAfterSeconds: Math.max(1, Math.ceil(result.retryAfterMs / 1000)),
      retryable: true,
    });
  }
}
