import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { SessionWorkerConfig } from '@app/config';
import type { Logger } from 'pino';
import { SessionLeaseRepository } from '../lease/session-lease.repository';
import { SessionManager } from '../session/session-manager.service';
import { WORKER_CONFIG, WORKER_LOGGER } from '../session-worker.tokens';
import { planPlacement } from '../workers/fair-share';
import { WorkerRegistry } from '../workers/worker-registry.repository';

// Claimable sessions looked at per round; the rest wait for the next round (the ramp limits connects anyway).
const CLAIM_BATCH = 200;
// A worker whose heartbeat is older than this many placement intervals counts as gone...
const STALE_AFTER_INTERVALS = 3;
// A round woken by a lease's expiry runs this long after it, so the database sees the lease expired.
const EXPIRY_GRACE_MS = 50;
// ...and never sooner than this after the previous round, so a lease that does not lapse after all
// (its owner renewed it at the last moment) cannot turn the loop into a busy one.
const MIN_ROUND_GAP_MS = 100;

/**
 * The placement loop: heartbeat, then claim unowned sessions and shed surplus ones so every worker
 * ends within one session of the fair share, each session preferring a stable owner (rendezvous
 * hashing). A dead worker's sessions become claimable when its leases expire (the lease TTL); rounds
 * run every PLACEMENT_INTERVAL_MS, and also right when the next lease of another worker is due to
 * expire, so a crashed worker's sessions are claimed at its lease expiry, not up to an interval later.
 */
@Injectable()
export class PlacementService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** Local time at which the next lease of another worker expires, as the last round learned it. */
  private nextExpiryAt?: number;
  private stopped = false;
  private readonly log: Logger;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: SessionWorkerConfig,
    @Inject(WORKER_LOGGER) logger: Logger,
    private readonly manager: SessionManager,
    private readonly leases: SessionLeaseRepository,
    private readonly workers: WorkerRegistry,
  ) {
    this.log = logger.child({ component: 'placement' });
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.workers.markDraining(this.manager.workerId).catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((error: unknown) => this.log.warn({ err: error }, 'placement round failed'))
        .finally(() => this.schedule(this.nextRoundDelay()));
    }, delayMs);
  }

  /** The placement interval, or less when a lease of another worker is due to expire before then. */
  private nextRoundDelay(): number {
    const interval = this.config.PLACEMENT_INTERVAL_MS;
    if (this.nextExpiryAt === undefined) return interval;
    const untilExpiry = this.nextExpiryAt + EXPIRY_GRACE_MS - Date.now();
    return Math.min(interval, Math.max(MIN_ROUND_GAP_MS, untilExpiry));
  }

  /**
   * ...but always before its leases can expire: a dead worker must have left the fair share by the
   * time its sessions become claimable, or the survivors would not take them.
   */
  private staleAfterMs(): number {
    const interval = this.config.PLACEMENT_INTERVAL_MS;
    return Math.max(
      interval,
      Math.min(interval * STALE_AFTER_INTERVALS, this.config.LEASE_TTL_MS - interval),
    );
  }

  /** One round; public so tests and the start command can run it without waiting for the timer. */
  async round(): Promise<void> {
    this.nextExpiryAt = undefined;
    if (this.stopped || this.manager.isDraining) return;
    const me = this.manager.workerId;
    await this.workers.heartbeat(me, {
      capacity: this.config.MAX_SESSIONS,
      ownedCount: this.manager.ownedCount,
      draining: false,
    });
    const [live, claimable, claimableTotal, untilExpiry] = await Promise.all([
      this.workers.liveWorkers(this.staleAfterMs()),
      this.leases.claimable(CLAIM_BATCH, me),
      this.leases.countClaimable(),
      this.leases.msUntilNextExpiry(me),
    ]);
    if (untilExpiry !== null) this.nextExpiryAt = Date.now() + untilExpiry;
    const plan = planPlacement({
      me,
      liveWorkers: live,
      claimable,
      claimableTotal,
      owned: this.manager.ownedLocations,
    });
    if (plan.claim.length > 0 || plan.shed.length > 0) {
      this.log.info(
        { claim: plan.claim.length, shed: plan.shed.length, target: plan.target, fairShare: plan.fairShare },
        'placement',
      );
    }
    for (const locationId of plan.shed) {
      await this.manager.handOff(locationId, `rebalancing to share sessions fairly (target ${plan.target})`);
    }
    for (const locationId of plan.claim) {
      if (this.stopped) break;
      await this.manager.claim(locationId);
    }
  }
}
