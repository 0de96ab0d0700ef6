import { createHash } from 'node:crypto';

/** A live worker as the placement loop sees it. */
export interface PlacementWorker {
  readonly id: string;
  /** Sessions it holds a live lease on. */
  readonly owned: number;
  /** Most sessions it may hold (MAX_SESSIONS). */
  readonly capacity: number;
}

export interface PlacementInput {
  /** The worker planning. If it is not among `liveWorkers` (not registered yet, draining), it does nothing. */
  readonly me: string;
  readonly liveWorkers: readonly PlacementWorker[];
  /** Location ids that should run and have no live lease. */
  readonly claimable: readonly string[];
  /** Location ids `me` holds a live lease on (authoritative for `me`, whatever its heartbeat said). */
  readonly owned: readonly string[];
  /**
   * How many sessions are claimable in all, when `claimable` is a truncated list. Fair shares are
   * computed from the total; an undercount would make well-balanced workers shed. Default: the list's length.
   */
  readonly claimableTotal?: number;
}

export interface PlacementPlan {
  /** Acquire these, in this order (the ones `me` is the preferred worker for come first). */
  readonly claim: string[];
  /** Close these sockets and release their leases, so under-loaded workers can take them. */
  readonly shed: string[];
  /** How many sessions `me` should own once everything settles. */
  readonly target: number;
  /** ceil(total / live workers), before capacity limits: for logs and metrics. */
  readonly fairShare: number;
}

/**
 * Rendezvous (highest-random-weight) score of a worker for a session. The live worker with the highest
 * score is the session's preferred owner; when a worker joins or leaves, only the sessions whose top
 * score it has (or had) change preference.
 */
export function rendezvousScore(locationId: string, workerId: string): number {
  // 48 bits of SHA-256: exact in a double, and collisions (broken by worker id) are vanishingly rare.
  return createHash('sha256').update(`${locationId}:${workerId}`).digest().readUIntBE(0, 6);
}

/** The preferred owner of a session among `workerIds`; ties go to the smaller id. */
export function preferredWorker(locationId: string, workerIds: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const id of workerIds) {
    const score = rendezvousScore(locationId, id);
    if (score > bestScore || (score === bestScore && best !== undefined && id < best)) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}

interface Slot {
  readonly id: string;
  readonly owned: number;
  readonly capacity: number;
  target: number;
}

/**
 * What one worker should claim and shed in one round of the placement loop. A pure function of a
 * snapshot, so every worker that sees the same snapshot computes the same global plan and carries out
 * its own part of it; leases arbitrate whatever a stale snapshot gets wrong.
 *
 * 1. Targets. The total (sessions owned by live workers + claimable ones) is shared out by water-filling:
 *    a worker whose capacity is below the even share gets its capacity, the rest get q or q + 1. The
 *    q + 1 slots go to the workers that already own the most (ties: smaller id), which is what makes
 *    the number of sessions that have to move minimal.
 * 2. Claims. Each claimable session goes to its preferred live worker if that worker is below target,
 *    otherwise to the highest-scoring worker still below target. A worker never claims past its target,
 *    so claiming alone can never push anyone into shedding.
 * 3. Shedding, with hysteresis. Nothing moves while every worker, counting the claims it is about to
 *    make, is within one session of its fair share (min(capacity, level) ± 1). Only when someone is
 *    outside that band (a new worker owns nothing, a capacity shrank) do workers above target shed down
 *    to target — the sessions whose preferred worker is someone else first. Once balanced, nothing
 *    changes until workers or sessions come or go: no flapping.
 */
export function planPlacement(input: PlacementInput): PlacementPlan {
  const { me } = input;
  const slots = new Map<string, Slot>();
  for (const worker of input.liveWorkers) {
    const owned = worker.id === me ? new Set(input.owned).size : Math.max(0, worker.owned);
    slots.set(worker.id, { id: worker.id, owned, capacity: Math.max(0, worker.capacity), target: 0 });
  }
  const self = slots.get(me);
  const workers = [...slots.values()].sort((a, b) => compare(a.id, b.id));
  const claimableTotal = Math.max(input.claimableTotal ?? 0, input.claimable.length);
  const total = workers.reduce((sum, worker) => sum + worker.owned, 0) + claimableTotal;
  const fairShare = workers.length === 0 ? 0 : Math.ceil(total / workers.length);
  if (!self) return { claim: [], shed: [], target: 0, fairShare };

  const level = assignTargets(workers, total);
  const workerIds = workers.map((worker) => worker.id);

  // Claims: the same deterministic assignment on every worker.
  const deficit = new Map(workers.map((w) => [w.id, Math.max(0, Math.min(w.target, w.capacity) - w.owned)]));
  const assigned = new Map<string, string[]>(workers.map((w) => [w.id, []]));
  // A session in both lists (the two queries ran at different moments) is ours already.
  const mine = new Set(input.owned);
  const claimable = [...new Set(input.claimable)].filter((id) => !mine.has(id)).sort(compare);
  const scores = new Map<string, Map<string, number>>();
  const scoreOf = (locationId: string, workerId: string): number => {
    let perWorker = scores.get(locationId);
    if (!perWorker) scores.set(locationId, (perWorker = new Map<string, number>()));
    let score = perWorker.get(workerId);
    if (score === undefined) perWorker.set(workerId, (score = rendezvousScore(locationId, workerId)));
    return score;
  };
  const best = (locationId: string, candidates: readonly string[]): string | undefined => {
    let winner: string | undefined;
    for (const id of candidates) {
      if (winner === undefined || scoreOf(locationId, id) > scoreOf(locationId, winner)) winner = id;
    }
    return winner;
  };
  const preferredFirst: string[] = [];
  const leftOver: string[] = [];
  for (const locationId of claimable) {
    const preferred = best(locationId, workerIds);
    if (preferred !== undefined && (deficit.get(preferred) ?? 0) > 0) {
      deficit.set(preferred, (deficit.get(preferred) ?? 0) - 1);
      assigned.get(preferred)?.push(locationId);
      if (preferred === me) preferredFirst.push(locationId);
    } else {
      leftOver.push(locationId);
    }
  }
  const secondChoice: string[] = [];
  for (const locationId of leftOver) {
    const taker = best(
      locationId,
      workerIds.filter((id) => (deficit.get(id) ?? 0) > 0),
    );
    if (taker === undefined) break; // everyone is at target (or capacity); the rest stays claimable
    deficit.set(taker, (deficit.get(taker) ?? 0) - 1);
    assigned.get(taker)?.push(locationId);
    if (taker === me) secondChoice.push(locationId);
  }

  // Shedding only when some worker is more than one session off its fair share after this round's claims.
  const outOfBand = workers.some((worker) => {
    const share = Math.min(worker.capacity, level);
    const expected = worker.owned + (assigned.get(worker.id)?.length ?? 0);
    return expected < share - 1 || expected > share + 1 || expected > worker.capacity;
  });
  const excess = self.owned - self.target;
  let shed: string[] = [];
  if (outOfBand && excess > 0) {
    const underTarget = new Set(workers.filter((w) => (deficit.get(w.id) ?? 0) > 0).map((w) => w.id));
    const ranked = [...mine].map((locationId) => {
      const preferred = best(locationId, workerIds);
      // 0: its preferred worker is below target and will take it; 1: preferred elsewhere; 2: preferred here.
      const rank = preferred === me ? 2 : preferred !== undefined && underTarget.has(preferred) ? 0 : 1;
      return { locationId, rank, score: scoreOf(locationId, me) };
    });
    ranked.sort((a, b) => a.rank - b.rank || a.score - b.score || compare(a.locationId, b.locationId));
    shed = ranked.slice(0, excess).map((entry) => entry.locationId);
  }

  return { claim: [...preferredFirst, ...secondChoice], shed, target: self.target, fairShare };
}

/**
 * Water-filling: sets each worker's `target` so targets sum to min(total, total capacity) and differ by
 * at most one among workers not limited by capacity. Returns the level: the largest target of a worker
 * not limited by capacity (its fair share).
 */
function assignTargets(workers: Slot[], total: number): number {
  let remaining = total;
  let open = [...workers];
  for (;;) {
    // Everyone is limited by capacity: each one's fair share is its capacity.
    if (open.length === 0) return Math.max(0, ...workers.map((worker) => worker.capacity));
    const share = Math.floor(remaining / open.length);
    const capped = open.filter((worker) => worker.capacity <= share);
    if (capped.length === 0) break;
    for (const worker of capped) {
      worker.target = worker.capacity;
      remaining -= worker.capacity;
    }
    open = open.filter((worker) => worker.capacity > share);
  }
  const base = Math.floor(remaining / open.length);
  const extra = remaining - base * open.length;
  // The q + 1 slots go to those already owning the most: fewest sessions have to move.
  open.sort((a, b) => b.owned - a.owned || compare(a.id, b.id));
  open.forEach((worker, index) => (worker.target = base + (index < extra ? 1 : 0)));
  return base + (extra > 0 ? 1 : 0);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
