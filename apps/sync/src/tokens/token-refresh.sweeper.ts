import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { SyncConfig } from '@app/config';
import type { Logger } from 'pino';
import { ghlMetrics } from '../ghl/ghl.metrics';
import { SYNC_CONFIG, SYNC_LOGGER } from '../sync.tokens';
import { GhlTokenService, resourceKey } from './ghl-token.service';
import { TokenRepository } from './token.repository';

/** Tokens looked at per round; the rest wait for the next round (soonest expiry first). */
const ROUND_LIMIT = 500;
/** Refreshes at once in one round: GHL's token endpoint is not the place for a burst. */
const PARALLEL = 4;
/** A token whose refresh failed (location paused, GHL down, ...) is left alone this long. */
const FAILED_PAUSE_MS = 15 * 60_000;

/**
 * Refreshes tokens of idle locations (and agencies) before they expire. Events refresh the tokens
 * they use on demand; a location without traffic would otherwise reach its first event after a quiet
 * day with an expired token, and its agency token could lapse unseen.
 *
 * Every `GHL_TOKEN_SWEEP_INTERVAL` each replica picks the tokens that expire within the refresh
 * margin plus one interval and refreshes them through the same single-flight path as the on-demand
 * refresh, except that a row another process holds is skipped instead of waited for: replicas that
 * sweep at the same time split the work, and none refreshes a token twice (a revision that moved
 * since it was picked means someone else refreshed it; that token is reused).
 */
@Injectable()
export class TokenRefreshSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly pausedUntil = new Map<string, number>();
  private readonly logger: Logger;

  constructor(
    private readonly tokens: TokenRepository,
    private readonly service: GhlTokenService,
    @Inject(SYNC_CONFIG) private readonly config: SyncConfig,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'token-sweep' });
  }

  onApplicationBootstrap(): void {
    // Replicas started together spread their rounds over the interval.
    this.schedule(this.config.GHL_TOKEN_SWEEP_INTERVAL * (0.5 + Math.random() / 2));
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One round; returns what happened to each token it picked. */
  async sweep(): Promise<Record<'refreshed' | 'reused' | 'busy' | 'failed', number>> {
    const counts = { refreshed: 0, reused: 0, busy: 0, failed: 0 };
    const horizon = new Date(
      Date.now() + this.config.GHL_TOKEN_REFRESH_MARGIN + this.config.GHL_TOKEN_SWEEP_INTERVAL,
    );
    const now = Date.now();
    const due = (await this.tokens.expiringBefore(horizon, ROUND_LIMIT)).filter(
      (t) => (this.pausedUntil.get(resourceKey(t.resourceType, t.resourceId)) ?? 0) <= now,
    );
    for (let i = 0; i < due.length && !this.stopped; i += PARALLEL) {
      await Promise.all(
        due.slice(i, i + PARALLEL).map(async (token) => {
          const outcome = await this.service.refreshIdle(token.resourceType, token.resourceId, token.revision);
          counts[outcome] += 1;
          const key = resourceKey(token.resourceType, token.resourceId);
          if (outcome === 'failed') this.pausedUntil.set(key, Date.now() + FAILED_PAUSE_MS);
          else this.pausedUntil.delete(key);
        }),
      );
    }
    return counts;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweep()
        .then(
          (counts) => {
            ghlMetrics.sweeps.inc({ outcome: 'completed' });
            const picked = counts.refreshed + counts.reused + counts.busy + counts.failed;
            if (picked > 0) this.logger.info(counts, 'token sweep: refreshed tokens nearing expiry');
          },
          (err: unknown) => {
            ghlMetrics.sweeps.inc({ outcome: 'failed' });
            this.logger.warn({ err }, 'token sweep failed; next round at the usual time');
          },
        )
        .finally(() => this.schedule(this.config.GHL_TOKEN_SWEEP_INTERVAL));
    }, delayMs);
    this.timer.unref();
  }
}
