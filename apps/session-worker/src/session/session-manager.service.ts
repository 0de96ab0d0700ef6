import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { SessionWorkerConfig } from '@app/config';
import { CommandBus, CommandSubscription, EventBus, retryWhileUnavailable } from '@app/messaging';
import type { Logger } from 'pino';
import { AuthStateRepository } from '../auth/auth-state.repository';
import { LeaseKeeper, type KeptLease, type LeaseLostReason } from '../lease/lease-keeper';
import { SessionLeaseRepository } from '../lease/session-lease.repository';
import { sessionMetrics, setSessionStateSource } from '../metrics/session.metrics';
import { WORKER_CONFIG, WORKER_LOGGER } from '../session-worker.tokens';
import { WHATSAPP_CLIENT, type WhatsAppClient } from '../whatsapp/whatsapp.port';
import { ConnectRamp } from './connect-ramp';
import { DEFAULT_DISCONNECT_POLICY } from './disconnect-policy';
import { SessionProjectionRepository } from './session-projection.repository';
import { SessionRunner } from './session-runner';

interface OwnedSession {
  runner: SessionRunner;
  lease: KeptLease;
  subscriptions: CommandSubscription[];
}

/**
 * The sessions this worker owns. A session enters only through `claim` (which takes the lease) and
 * leaves when its runner stops (lease released or lost). Owner-directed commands are subscribed per
 * owned location, so a command for a session nobody owns gets an immediate "no responder".
 */
@Injectable()
export class SessionManager implements BeforeApplicationShutdown {
  private readonly owned = new Map<string, OwnedSession>();
  private readonly claiming = new Set<string>();
  private readonly ramp: ConnectRamp;
  /** Renews every lease of this worker with one statement per LEASE_RENEW_MS. */
  private readonly leaseKeeper: LeaseKeeper;
  private draining = false;
  private drainStartedAt?: number;
  private readonly log: Logger;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: SessionWorkerConfig,
    @Inject(WORKER_LOGGER) logger: Logger,
    @Inject(WHATSAPP_CLIENT) private readonly whatsapp: WhatsAppClient,
    private readonly leases: SessionLeaseRepository,
    private readonly authState: AuthStateRepository,
    private readonly projection: SessionProjectionRepository,
    private readonly events: EventBus,
    private readonly commands: CommandBus,
  ) {
    this.log = logger.child({ component: 'session-manager' });
    this.ramp = new ConnectRamp({
      perSecond: config.CONNECT_RAMP_PER_SEC,
      maxInFlight: config.MAX_CONNECTS_IN_FLIGHT,
    });
    this.leaseKeeper = new LeaseKeeper(leases, config.INSTANCE_ID, {
      ttlMs: config.LEASE_TTL_MS,
      renewEveryMs: config.LEASE_RENEW_MS,
      onRenewError: (error, count) => {
        sessionMetrics.leaseRenewalErrors.inc();
        this.log.warn({ err: error, leases: count }, 'lease renewal failed; retrying');
      },
    });
    setSessionStateSource(() => [...this.owned.values()].map((s) => s.runner.currentState));
  }

  get workerId(): string {
    return this.config.INSTANCE_ID;
  }

  get ownedCount(): number {
    return this.owned.size + this.claiming.size;
  }

  get ownedLocations(): string[] {
    return [...this.owned.keys()];
  }

  get capacityLeft(): number {
    return this.draining ? 0 : Math.max(0, this.config.MAX_SESSIONS - this.ownedCount);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  isOwned(locationId: string): boolean {
    return this.owned.has(locationId);
  }

  /**
   * Takes the session's lease and starts it (its connect waits for a turn of the connect ramp). False
   * when another worker holds a live lease, or this worker is full or shutting down.
   */
  async claim(locationId: string): Promise<boolean> {
    if (this.capacityLeft === 0 || this.owned.has(locationId) || this.claiming.has(locationId)) return false;
    this.claiming.add(locationId);
    try {
      const kept = await this.leaseKeeper.acquire(locationId, (reason) =>
        this.onLeaseLost(locationId, reason),
      );
      if (!kept) return false;
      // An acquire slower than the safe window leaves a lease we cannot trust: give it back.
      if (!kept.isValid() || this.draining) {
        kept.stop();
        await this.leases.release(kept.lease);
        return false;
      }
      this.adopt(locationId, kept);
      return true;
    } finally {
      this.claiming.delete(locationId);
    }
  }

  private adopt(locationId: string, kept: KeptLease): void {
    const lease = kept.lease;
    const log = this.log.child({ locationId, epoch: lease.epoch });
    const runner = new SessionRunner({
      locationId,
      workerId: this.workerId,
      lease: {
        epoch: lease.epoch,
        isValid: () => kept.isValid(),
        isHeld: () => (kept.isValid() ? this.leases.isHeld(kept.lease) : Promise.resolve(false)),
        release: async () => {
          kept.stop();
          await this.leases.release(kept.lease);
        },
      },
      connectTurns: this.ramp,
      whatsapp: this.whatsapp,
      auth: {
        readCreds: () => this.authState.readCreds(locationId),
        readKeys: (category, ids) => this.authState.readKeys(locationId, category, ids),
        write: (changes) => this.authState.write(kept.lease, changes),
        clear: async () => void (await this.authState.clear(kept.lease)),
      },
      publish: async (type, payload, options) => {
        const meta = options?.id ? { id: options.id } : undefined;
        const publish = () => this.events.publish(type, locationId, payload, meta);
        if (!options?.untilPublished) {
          await publish();
          return;
        }
        await retryWhileUnavailable(`publishing ${type}`, publish, {
          logger: log,
          // At shutdown the hand-off time bounds the wait; an id already stored is a duplicate, not a copy.
          shouldStop: () =>
            this.drainStartedAt !== undefined &&
            Date.now() - this.drainStartedAt > this.config.SHUTDOWN_HANDOFF_MS,
        });
      },
      project: (patch) => this.projection.write(kept.lease, patch),
      policy: { ...DEFAULT_DISCONNECT_POLICY, random: Math.random },
      qrMaxRefs: this.config.QR_MAX_REFS,
      qrTimeoutMs: this.config.QR_TIMEOUT_MS,
      logger: log,
      onStopped: (reason) => this.forget(locationId, reason),
    });
    const session: OwnedSession = {
      runner,
      lease: kept,
      subscriptions: this.subscribeCommands(locationId, runner),
    };
    this.owned.set(locationId, session);
    sessionMetrics.owned.set(this.owned.size);
    log.info('session claimed');
    void runner.start();
  }

  private subscribeCommands(locationId: string, runner: SessionRunner): CommandSubscription[] {
    return [
      this.commands.handle('session.stop', locationId, async () => {
        await runner.stop('stopped by request', 'stopped');
        return { state: 'stopped' as const, workerId: this.workerId };
      }),
      this.commands.handle('session.logout', locationId, async () => {
        await runner.logout();
        return { state: 'logged_out' as const, workerId: this.workerId };
      }),
      this.commands.handle('session.restart', locationId, async () => {
        await runner.restart();
        return { state: runner.currentState, workerId: this.workerId };
      }),
      this.commands.handle('session.send', locationId, async ({ payload }) =>
        runner.send(payload.to, payload.clientMessageId, payload.content),
      ),
      this.commands.handle('session.request_pairing_code', locationId, async ({ payload }) =>
        runner.requestPairingCode(payload.phone),
      ),
    ];
  }

  private onLeaseLost(locationId: string, reason: LeaseLostReason): void {
    sessionMetrics.leaseRenewFailures.inc();
    this.log.warn({ locationId, reason }, 'lease lost: closing the socket before anyone else can open one');
    void this.owned.get(locationId)?.runner.abandon(`lease lost: ${reason.message}`);
  }

  private forget(locationId: string, reason: string): void {
    const session = this.owned.get(locationId);
    if (!session) return;
    this.owned.delete(locationId);
    session.lease.stop();
    for (const subscription of session.subscriptions) void subscription.unsubscribe();
    sessionMetrics.owned.set(this.owned.size);
    this.log.info({ locationId, reason }, 'session released by this worker');
  }

  /** Hands a session to another worker (rebalancing): close the socket, release the lease. */
  async handOff(locationId: string, reason: string): Promise<void> {
    await this.owned.get(locationId)?.runner.stop(reason, 'keep');
  }

  /** Running state of an owned session, for the start command's answer. */
  stateOf(locationId: string) {
    return this.owned.get(locationId)?.runner.currentState;
  }

  /**
   * SIGTERM: take nothing new, close every socket, release every lease, so other workers reconnect
   * these sessions within seconds and no socket overlaps (no 440). Bounded by SHUTDOWN_HANDOFF_MS.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true;
    this.drainStartedAt = Date.now();
    this.ramp.close();
    const sessions = [...this.owned.values()];
    this.log.info({ sessions: sessions.length }, 'handing off sessions');
    const started = Date.now();
    const all = Promise.allSettled(sessions.map((s) => s.runner.stop('worker shutting down', 'keep')));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.config.SHUTDOWN_HANDOFF_MS);
    });
    const result = await Promise.race([all.then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      // Sockets first, leases second: releasing a lease whose socket is still open would let
      // another worker connect alongside it (a 440 for the user).
      this.log.warn('hand-off timed out; force-closing the remaining sockets');
      await Promise.allSettled(
        [...this.owned.values()].map((s) => s.runner.abandon('shutdown hand-off timed out')),
      );
    }
    // Messages WhatsApp delivered must be on the bus before the process lets go of it.
    const remainingMs = Math.max(0, this.config.SHUTDOWN_HANDOFF_MS - (Date.now() - started));
    await Promise.race([
      Promise.allSettled(sessions.map((s) => s.runner.delivered)),
      new Promise((resolve) => setTimeout(resolve, remainingMs).unref()),
    ]);
    // Leases of sessions whose stop failed half-way; if the database is down they simply expire.
    const released = await this.leases.releaseAllOwnedBy(this.workerId).catch((error: unknown) => {
      this.log.warn({ err: error }, 'could not release the remaining leases; they will expire');
      return [];
    });
    this.leaseKeeper.stop();
    this.log.info(
      { sessions: sessions.length, ms: Date.now() - started, releasedDirectly: released.length },
      'hand-off done',
    );
  }

  /** Used by the start command: a session nobody owns is claimed here when there is room. */
  async ensureClaimed(locationId: string): Promise<boolean> {
    if (this.owned.has(locationId)) return true;
    return this.claim(locationId);
  }
}
