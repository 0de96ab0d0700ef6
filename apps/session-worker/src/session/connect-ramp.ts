import { sessionMetrics } from '../metrics/session.metrics';

/** Ends a connect's hold on the ramp; calling it more than once does nothing. */
export type ConnectDone = () => void;

export interface ConnectRampOptions {
  /** Connects started per second at most. */
  perSecond: number;
  /** Connects in progress (socket opening, logging in or pairing) at most. */
  maxInFlight: number;
  /**
   * A connect that has not called `done` after this long stops counting as in flight (a socket that
   * neither opened nor closed must not block the ramp for good). Default 60 s.
   */
  maxHoldMs?: number;
  now?: () => number;
}

/**
 * Spaces out socket connects and bounds how many run at once. Pairing and login are CPU-heavy
 * (signatures, 812 pre-keys generated and written); a burst of hundreds starves the event loop past
 * Baileys' keep-alive and turns into mass 408s (measured with the sandbox prototype: 46 of 300 sessions
 * died without a ramp, none with one), and their credential writes exhaust the database pool. A rate
 * alone does not bound that work once each login slows down under load; the in-flight cap does.
 *
 * Every connect attempt — a first start, a reconnect, the restart after pairing — takes a turn with
 * `schedule` and gives it back with `done` once the socket has settled: a QR is shown (waiting for a
 * person costs nothing), the session is open, or the attempt failed.
 */
export class ConnectRamp {
  private readonly queue: { start: (done: ConnectDone) => void }[] = [];
  private readonly inFlight = new Set<NodeJS.Timeout>();
  private timer?: NodeJS.Timeout;
  private lastStartAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  private readonly perSecond: number;
  private readonly maxInFlight: number;
  private readonly maxHoldMs: number;
  private readonly now: () => number;

  constructor(options: ConnectRampOptions) {
    if (!(options.perSecond > 0))
      throw new RangeError(`perSecond must be positive, got ${options.perSecond}`);
    if (!(Number.isInteger(options.maxInFlight) && options.maxInFlight >= 1))
      throw new RangeError(`maxInFlight must be a whole number ≥ 1, got ${options.maxInFlight}`);
    this.perSecond = options.perSecond;
    this.maxInFlight = options.maxInFlight;
    this.maxHoldMs = options.maxHoldMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Calls `start` when its turn comes, with the `done` that ends its turn. Returns a cancel function:
   * a start still waiting is dropped (a start already called is unaffected). Nothing runs once closed.
   */
  schedule(start: (done: ConnectDone) => void): () => void {
    if (this.closed) return () => undefined;
    const entry = { start };
    this.queue.push(entry);
    this.reportQueue();
    this.pump();
    return () => {
      const index = this.queue.indexOf(entry);
      if (index < 0) return;
      this.queue.splice(index, 1);
      this.reportQueue();
    };
  }

  /** Connects waiting for their turn. */
  get pending(): number {
    return this.queue.length;
  }

  /** Connects started and not done. */
  get running(): number {
    return this.inFlight.size;
  }

  /** Drops whatever waits (shutdown); connects in flight just finish. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.reportQueue();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    if (this.timer || this.closed || this.queue.length === 0 || this.inFlight.size >= this.maxInFlight)
      return;
    const wait = Math.max(0, this.lastStartAt + 1000 / this.perSecond - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed || this.inFlight.size >= this.maxInFlight) return;
      const next = this.queue.shift();
      this.reportQueue();
      if (!next) return;
      this.lastStartAt = this.now();
      next.start(this.hold());
      this.pump();
    }, wait);
  }

  /** Counts one connect in flight until its `done` (or the hold limit). */
  private hold(): ConnectDone {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(expiry);
      this.inFlight.delete(expiry);
      sessionMetrics.connectsInFlight.set(this.inFlight.size);
      this.pump();
    };
    const expiry = setTimeout(release, this.maxHoldMs);
    expiry.unref();
    this.inFlight.add(expiry);
    sessionMetrics.connectsInFlight.set(this.inFlight.size);
    return release;
  }

  private reportQueue(): void {
    sessionMetrics.connectQueue.set(this.queue.length);
  }
}
