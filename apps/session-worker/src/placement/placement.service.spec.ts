import type { SessionWorkerConfig } from '@app/config';
import pino from 'pino';
import type { SessionLeaseRepository } from '../lease/session-lease.repository';
import type { SessionManager } from '../session/session-manager.service';
import type { WorkerRegistry } from '../workers/worker-registry.repository';
import { PlacementService } from './placement.service';

/** Strict fakes of what a round reads; `untilExpiry` scripts what the database says about the next expiry. */
function setup() {
  const rounds: number[] = [];
  let untilExpiry: number | null = null;
  const leases = {
    claimable: jest.fn(async () => []),
    countClaimable: jest.fn(async () => 0),
    msUntilNextExpiry: jest.fn(async () => untilExpiry),
  };
  const workers = {
    heartbeat: jest.fn(async () => {
      rounds.push(Date.now());
    }),
    liveWorkers: jest.fn(async () => [{ id: 'w1', owned: 0, capacity: 10 }]),
    markDraining: jest.fn(async () => undefined),
  };
  const manager = {
    workerId: 'w1',
    ownedCount: 0,
    ownedLocations: [],
    isDraining: false,
    claim: jest.fn(),
    handOff: jest.fn(),
  };
  const config = {
    PLACEMENT_INTERVAL_MS: 2_000,
    LEASE_TTL_MS: 12_000,
    MAX_SESSIONS: 10,
  } as SessionWorkerConfig;
  const placement = new PlacementService(
    config,
    pino({ level: 'silent' }),
    manager as unknown as SessionManager,
    leases as unknown as SessionLeaseRepository,
    workers as unknown as WorkerRegistry,
  );
  return {
    placement,
    rounds,
    setUntilExpiry: (ms: number | null) => (untilExpiry = ms),
    msUntilNextExpiry: leases.msUntilNextExpiry,
  };
}

describe('PlacementService timing', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  it('runs a round every placement interval while no lease of another worker is about to lapse', async () => {
    const { placement, rounds, setUntilExpiry, msUntilNextExpiry } = setup();
    setUntilExpiry(9_000); // a live owner's lease: renewed long before it expires
    placement.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(6_100);
    expect(rounds).toEqual([0, 2_000, 4_000, 6_000]);
    expect(msUntilNextExpiry).toHaveBeenCalledWith('w1');
    await placement.beforeApplicationShutdown();
  });

  it('wakes up right after a lease of another worker expires, instead of at the next interval', async () => {
    const { placement, rounds, setUntilExpiry } = setup();
    setUntilExpiry(700); // its owner stopped renewing it
    placement.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    setUntilExpiry(null);
    await jest.advanceTimersByTimeAsync(3_000);
    expect(rounds).toEqual([0, 750, 2_750]);
    await placement.beforeApplicationShutdown();
  });

  it('does not spin when a lease keeps being due: rounds stay at least 100 ms apart', async () => {
    const { placement, rounds, setUntilExpiry } = setup();
    setUntilExpiry(1);
    placement.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(950);
    expect(rounds).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    await placement.beforeApplicationShutdown();
  });
});
