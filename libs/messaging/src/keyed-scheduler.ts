/**
 * Runs at most `concurrency` tasks at once; tasks that share a key run one after another in the
 * order they were scheduled, tasks with different keys (or no key) run in parallel.
 *
 * A task waiting for its key holds a slot. That can idle a slot behind a slow key, but it keeps the
 * number of messages held by the process bounded by `concurrency`, which is what ack_wait budgets for.
 */
export class KeyedScheduler {
  private active = 0;
  private readonly tails = new Map<string, Promise<void>>();
  private slotWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
    }
  }

  get inFlight(): number {
    return this.active;
  }

  /** Keys with work scheduled or running (for tests and diagnostics). */
  get activeKeys(): number {
    return this.tails.size;
  }

  /**
   * Resolves once the task has a slot (not when it finishes). `task` must not reject; a rejection is
   * swallowed so that one failure cannot break the chain of its key.
   */
  async schedule(key: string | undefined, task: () => Promise<void>): Promise<void> {
    while (this.active >= this.concurrency) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    this.active += 1;
    const previous = key === undefined ? undefined : this.tails.get(key);
    const run = (previous ? previous.then(task) : task()).catch(() => undefined).then(() => this.release());
    if (key !== undefined) {
      this.tails.set(key, run);
      void run.then(() => {
        if (this.tails.get(key) === run) this.tails.delete(key);
      });
    }
  }

  /** Resolves when nothing is running or waiting for its key. */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private release(): void {
    this.active -= 1;
    const next = this.slotWaiters.shift();
    if (next) next();
    if (this.active === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
