import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopDelay {
  p99Ms: number;
  maxMs: number;
}

/** Window of the event-loop delay figures: long enough to catch a stall, short enough to show a trend. */
const WINDOW_MS = 10_000;

/**
 * Event-loop delay over the last complete 10 s window. A Baileys process whose loop stalls more than
 * ~5 s misses its keep-alive and ends with 408, so this is the number to watch under load.
 */
export class LoopDelayMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private last: LoopDelay = { p99Ms: 0, maxMs: 0 };

  constructor() {
    this.histogram.enable();
    setInterval(() => {
      this.last = this.read();
      this.histogram.reset();
    }, WINDOW_MS).unref();
  }

  /** The worse of the last complete window and the current one. */
  current(): LoopDelay {
    const now = this.read();
    return { p99Ms: Math.max(now.p99Ms, this.last.p99Ms), maxMs: Math.max(now.maxMs, this.last.maxMs) };
  }

  private read(): LoopDelay {
    const toMs = (ns: number) => (Number.isFinite(ns) ? Math.round(ns / 1e6) : 0);
    return { p99Ms: toMs(this.histogram.percentile(99)), maxMs: toMs(this.histogram.max) };
  }
}
