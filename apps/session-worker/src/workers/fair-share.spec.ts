import fc from 'fast-check';
import { planPlacement, preferredWorker, rendezvousScore, type PlacementPlan } from './fair-share';

/** A small deterministic PRNG, so a failing simulation replays exactly. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

const UNLIMITED = 100_000;

/**
 * Workers and leases, in memory. A claim is a lease acquire (fails if someone holds the session), a shed
 * is a release. `synchronous` rounds: every worker plans from one snapshot, then all act in random
 * order. `sequential` rounds: each worker in turn sees the state its predecessors left.
 */
class Cluster {
  readonly owner = new Map<string, string>();
  readonly workers = new Map<string, { capacity: number }>();
  readonly sessions: string[];
  /** Every lease that changed hands: [session, from, to]; `from` undefined for a fresh session. */
  readonly claims: { session: string; by: string }[] = [];
  readonly sheds: { session: string; by: string }[] = [];

  constructor(
    sessionCount: number,
    workers: Record<string, number>,
    private readonly random: () => number = mulberry32(1),
  ) {
    this.sessions = Array.from({ length: sessionCount }, (_, i) => `loc-${String(i).padStart(4, '0')}`);
    for (const [id, capacity] of Object.entries(workers)) this.workers.set(id, { capacity });
  }

  ownedBy(worker: string): string[] {
    return this.sessions.filter((session) => this.owner.get(session) === worker);
  }

  counts(): Record<string, number> {
    return Object.fromEntries([...this.workers.keys()].map((id) => [id, this.ownedBy(id).length]));
  }

  claimable(): string[] {
    return this.sessions.filter((session) => !this.owner.has(session));
  }

  plan(worker: string): PlacementPlan {
    return planPlacement({
      me: worker,
      liveWorkers: [...this.workers].map(([id, { capacity }]) => ({
        id,
        capacity,
        owned: this.ownedBy(id).length,
      })),
      // Lists arrive in whatever order the database returns them.
      claimable: shuffle(this.claimable(), this.random),
      owned: shuffle(this.ownedBy(worker), this.random),
    });
  }

  act(worker: string, plan: PlacementPlan): void {
    for (const session of plan.shed) {
      if (this.owner.get(session) !== worker)
        throw new Error(`${worker} shed ${session}, which it does not own`);
      this.owner.delete(session);
      this.sheds.push({ session, by: worker });
    }
    for (const session of plan.claim) {
      if (this.owner.has(session)) continue; // lost the race for the lease
      const capacity = this.workers.get(worker)?.capacity ?? 0;
      if (this.ownedBy(worker).length >= capacity) throw new Error(`${worker} claimed past its capacity`);
      this.owner.set(session, worker);
      this.claims.push({ session, by: worker });
    }
  }

  /** One round; returns how many leases changed (claims + sheds). */
  round(mode: 'synchronous' | 'sequential'): number {
    const before = this.claims.length + this.sheds.length;
    const order = shuffle([...this.workers.keys()], this.random);
    if (mode === 'synchronous') {
      const plans = order.map((worker) => [worker, this.plan(worker)] as const);
      for (const [worker, plan] of plans) this.act(worker, plan);
    } else {
      for (const worker of order) this.act(worker, this.plan(worker));
    }
    return this.claims.length + this.sheds.length - before;
  }

  /** Rounds until one changes nothing; returns how many rounds moved something. */
  settle(mode: 'synchronous' | 'sequential', maxRounds = 20): number {
    for (let rounds = 0; rounds < maxRounds; rounds++) {
      if (this.round(mode) === 0) return rounds;
    }
    throw new Error(`not settled after ${maxRounds} rounds: ${JSON.stringify(this.counts())}`);
  }

  join(worker: string, capacity = UNLIMITED): void {
    this.workers.set(worker, { capacity });
  }

  /** The worker stops; once its leases expire its sessions are claimable. */
  die(worker: string): void {
    this.workers.delete(worker);
    for (const session of this.ownedBy(worker)) this.owner.delete(session);
  }

  preferred(session: string): string | undefined {
    return preferredWorker(session, [...this.workers.keys()]);
  }
}

/**
 * The goal, stated independently of the implementation: nobody past capacity; nothing left unclaimed
 * while someone has room; everyone within one session of the fair share, where the fair share L is the
 * smallest level with sum(min(capacity, L)) >= total, capped by each worker's capacity.
 */
function expectBalanced(cluster: Cluster): void {
  const workers = [...cluster.workers];
  const counts = cluster.counts();
  const total = Object.values(counts).reduce((a, b) => a + b, 0) + cluster.claimable().length;
  const totalCapacity = workers.reduce((sum, [, { capacity }]) => sum + capacity, 0);
  let level = 0;
  while (
    workers.reduce((sum, [, { capacity }]) => sum + Math.min(capacity, level), 0) <
    Math.min(total, totalCapacity)
  )
    level++;
  for (const [id, { capacity }] of workers) {
    const share = Math.min(capacity, level);
    expect({
      id,
      owned: counts[id],
      ok: counts[id] <= capacity && Math.abs(counts[id] - share) <= 1,
    }).toEqual({
      id,
      owned: counts[id],
      ok: true,
    });
  }
  if (cluster.claimable().length > 0) {
    for (const [id, { capacity }] of workers) expect(counts[id]).toBe(capacity);
  }
}

/** Sessions shed by a worker and later claimed back by the same worker: wasted moves, i.e. flapping. */
function roundTrips(cluster: Cluster): string[] {
  return cluster.sheds
    .filter((shed) => cluster.claims.some((claim) => claim.session === shed.session && claim.by === shed.by))
    .map((shed) => `${shed.by}:${shed.session}`);
}

describe('rendezvous preference', () => {
  it('is deterministic and spreads sessions over workers', () => {
    expect(rendezvousScore('loc-1', 'w-a')).toBe(rendezvousScore('loc-1', 'w-a'));
    const workers = ['w-a', 'w-b', 'w-c'];
    const tally = new Map<string, number>();
    for (let i = 0; i < 3_000; i++) {
      const winner = preferredWorker(`loc-${i}`, workers)!;
      tally.set(winner, (tally.get(winner) ?? 0) + 1);
    }
    for (const id of workers) expect(tally.get(id)).toBeGreaterThan(850);
  });

  it('moves only the sessions the newcomer now wins when a worker joins', () => {
    const before = ['w-a', 'w-b', 'w-c'];
    const after = [...before, 'w-d'];
    for (let i = 0; i < 500; i++) {
      const winnerAfter = preferredWorker(`loc-${i}`, after);
      if (winnerAfter !== 'w-d') expect(winnerAfter).toBe(preferredWorker(`loc-${i}`, before));
    }
  });
});

describe('planPlacement', () => {
  it('does nothing for a worker that is not live (not registered yet, or draining)', () => {
    const plan = planPlacement({
      me: 'w-x',
      liveWorkers: [{ id: 'w-a', owned: 0, capacity: 10 }],
      claimable: ['loc-1'],
      owned: ['loc-2'],
    });
    expect(plan).toEqual({ claim: [], shed: [], target: 0, fairShare: 1 });
  });

  it('a lone worker claims up to its capacity and no further', () => {
    const plan = planPlacement({
      me: 'w-a',
      liveWorkers: [{ id: 'w-a', owned: 0, capacity: 3 }],
      claimable: ['loc-5', 'loc-1', 'loc-3', 'loc-4', 'loc-2'],
      owned: [],
    });
    expect(plan.claim).toHaveLength(3);
    expect(plan.shed).toEqual([]);
    expect(plan.target).toBe(3);
  });

  it('never claims a session it already owns', () => {
    const plan = planPlacement({
      me: 'w-a',
      liveWorkers: [{ id: 'w-a', owned: 1, capacity: 10 }],
      claimable: ['loc-1', 'loc-2'],
      owned: ['loc-1'],
    });
    expect(plan.claim).toEqual(['loc-2']);
  });

  it('cold start, 3 workers and 50 sessions: one round, 17/17/16, as many sessions on their preferred worker as the shares allow', () => {
    const cluster = new Cluster(50, { 'w-a': UNLIMITED, 'w-b': UNLIMITED, 'w-c': UNLIMITED });
    expect(cluster.round('synchronous')).toBe(50);
    expect(Object.values(cluster.counts()).sort()).toEqual([16, 17, 17]);
    expectBalanced(cluster);

    // Misplaced sessions are exactly those some worker's preferred set had beyond its share.
    const counts = cluster.counts();
    const preferredCount = new Map<string, number>();
    for (const session of cluster.sessions) {
      const preferred = cluster.preferred(session)!;
      preferredCount.set(preferred, (preferredCount.get(preferred) ?? 0) + 1);
    }
    const unavoidable = [...preferredCount].reduce((sum, [id, n]) => sum + Math.max(0, n - counts[id]), 0);
    const misplaced = cluster.sessions.filter((s) => cluster.owner.get(s) !== cluster.preferred(s)).length;
    expect(misplaced).toBe(unavoidable);

    expect(cluster.settle('synchronous')).toBe(0);
    expect(cluster.sheds).toEqual([]);
  });

  it.each(['synchronous', 'sequential'] as const)(
    '%s: a dead worker’s sessions go to the survivors in one round, nothing else moves',
    (mode) => {
      const cluster = new Cluster(50, { 'w-a': UNLIMITED, 'w-b': UNLIMITED, 'w-c': UNLIMITED });
      cluster.settle(mode);
      const survivorsBefore = new Map(cluster.sessions.map((s) => [s, cluster.owner.get(s)]));
      const orphaned = cluster.ownedBy('w-c');
      cluster.claims.length = 0;

      cluster.die('w-c');
      cluster.round(mode);

      expect(cluster.claimable()).toEqual([]);
      expect(cluster.counts()).toEqual({ 'w-a': 25, 'w-b': 25 });
      expect(cluster.sheds).toEqual([]);
      expect(cluster.claims.map((claim) => claim.session).sort()).toEqual(orphaned.sort());
      for (const [session, owner] of survivorsBefore) {
        if (owner !== 'w-c') expect(cluster.owner.get(session)).toBe(owner);
      }
      expect(cluster.settle(mode)).toBe(0);
    },
  );

  it.each([
    ['synchronous', 'w-d'],
    ['sequential', 'w-d'],
    // An id that sorts first must not win the larger targets: that would cost an extra move.
    ['synchronous', 'w-0'],
    ['sequential', 'w-0'],
  ] as const)(
    '%s, newcomer %s: it gets its share by shedding, with the fewest moves, none between the others',
    (mode, newcomer) => {
      const cluster = new Cluster(50, { 'w-a': UNLIMITED, 'w-b': UNLIMITED, 'w-c': UNLIMITED });
      cluster.settle(mode);
      cluster.claims.length = 0;
      const ownerBefore = new Map(cluster.owner);

      cluster.join(newcomer);
      const movingRounds = cluster.settle(mode);

      expectBalanced(cluster);
      // Fair share ceil(50 / 4) = 13; the least that puts the newcomer within one of it is 12 moves.
      expect(cluster.counts()[newcomer]).toBe(12);
      expect(cluster.sheds).toHaveLength(12);
      expect(new Set(cluster.claims.map((claim) => claim.by))).toEqual(new Set([newcomer]));
      expect(roundTrips(cluster)).toEqual([]);
      expect(movingRounds).toBeLessThanOrEqual(mode === 'synchronous' ? 2 : 3);
      // Each worker shed first the sessions that now prefer the newcomer, so they stay put next time.
      for (const worker of ['w-a', 'w-b', 'w-c']) {
        const shed = cluster.sheds.filter((entry) => entry.by === worker).map((entry) => entry.session);
        const hadPreferringNewcomer = cluster.sessions.filter(
          (session) => ownerBefore.get(session) === worker && cluster.preferred(session) === newcomer,
        ).length;
        const shedPreferringNewcomer = shed.filter(
          (session) => cluster.preferred(session) === newcomer,
        ).length;
        expect(shedPreferringNewcomer).toBe(Math.min(shed.length, hadPreferringNewcomer));
      }
    },
  );

  it('stays put once within one of the fair share (18/16/16 is fair enough: no moves)', () => {
    const cluster = new Cluster(50, { 'w-a': UNLIMITED, 'w-b': UNLIMITED, 'w-c': UNLIMITED });
    cluster.sessions.forEach((session, i) =>
      cluster.owner.set(session, i < 18 ? 'w-a' : i < 34 ? 'w-b' : 'w-c'),
    );
    expect(cluster.settle('synchronous')).toBe(0);
    expect(cluster.counts()).toEqual({ 'w-a': 18, 'w-b': 16, 'w-c': 16 });
  });

  it('respects capacity: a small worker fills up, the others share the rest', () => {
    const cluster = new Cluster(60, { 'w-a': 5, 'w-b': UNLIMITED, 'w-c': UNLIMITED });
    cluster.settle('synchronous');
    expect(cluster.counts()['w-a']).toBe(5);
    expect([cluster.counts()['w-b'], cluster.counts()['w-c']].sort()).toEqual([27, 28]);
    expectBalanced(cluster);
  });

  it('leaves sessions unclaimed when all capacity is used, and does not churn', () => {
    const cluster = new Cluster(30, { 'w-a': 10, 'w-b': 10 });
    cluster.settle('sequential');
    expect(cluster.counts()).toEqual({ 'w-a': 10, 'w-b': 10 });
    expect(cluster.claimable()).toHaveLength(10);
    expect(cluster.sheds).toEqual([]);
  });

  it('sheds down to a capacity that shrank, and the others take the surplus', () => {
    const cluster = new Cluster(40, { 'w-a': UNLIMITED, 'w-b': UNLIMITED });
    cluster.settle('synchronous');
    cluster.claims.length = 0;
    cluster.workers.set('w-a', { capacity: 10 });
    cluster.settle('synchronous');
    expect(cluster.counts()).toEqual({ 'w-a': 10, 'w-b': 30 });
    expect(roundTrips(cluster)).toEqual([]);
  });

  it('takes a truncated claimable list at its real size, so balanced workers do not shed', () => {
    // A owns 500, B just started; 500 more are claimable but only 100 were listed.
    const owned = Array.from({ length: 500 }, (_, i) => `own-${i}`);
    const listed = Array.from({ length: 100 }, (_, i) => `new-${i}`);
    const input = {
      me: 'w-a',
      liveWorkers: [
        { id: 'w-a', owned: 500, capacity: UNLIMITED },
        { id: 'w-b', owned: 0, capacity: UNLIMITED },
      ],
      claimable: listed,
      owned,
    };
    expect(planPlacement({ ...input, claimableTotal: 500 })).toMatchObject({
      shed: [],
      claim: [],
      target: 500,
    });
    expect(planPlacement(input).shed.length).toBeGreaterThan(0); // what the undercount would have done
  });

  it.each(['synchronous', 'sequential'] as const)(
    '%s, any cluster: converges within one of the fair share, respects capacity, then never moves again',
    (mode) => {
      fc.assert(
        fc.property(
          fc.record({
            seed: fc.integer(),
            sessions: fc.integer({ min: 0, max: 120 }),
            capacities: fc.array(fc.oneof(fc.constant(UNLIMITED), fc.integer({ min: 0, max: 40 })), {
              minLength: 1,
              maxLength: 6,
            }),
            // Initial owners: index into the workers, or -1 for unowned.
            initial: fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 120 }),
            event: fc.constantFrom('none', 'join', 'die'),
          }),
          ({ seed, sessions, capacities, initial, event }) => {
            const workers = Object.fromEntries(capacities.map((capacity, i) => [`w-${i}`, capacity]));
            const cluster = new Cluster(sessions, workers, mulberry32(seed));
            cluster.sessions.forEach((session, i) => {
              const index = initial[i] ?? -1;
              const id = `w-${index}`;
              const capacity = workers[id];
              if (capacity !== undefined && cluster.ownedBy(id).length < capacity)
                cluster.owner.set(session, id);
            });

            cluster.settle(mode);
            expectBalanced(cluster);
            if (event === 'join') cluster.join('w-new', 25);
            if (event === 'die' && capacities.length > 1) cluster.die('w-0');
            cluster.sheds.length = 0;
            cluster.claims.length = 0;

            cluster.settle(mode);
            expectBalanced(cluster);
            expect(roundTrips(cluster)).toEqual([]);
            for (let i = 0; i < 5; i++) expect(cluster.round(mode)).toBe(0);
          },
        ),
        { numRuns: 300, seed: 20_251_121 },
      );
    },
  );
});
