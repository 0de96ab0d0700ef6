/**
 * Runs tasks one at a time per key (e.g. per Signal session), in call order; a failed task does not
 * hold up the next. Plain TypeScript, so the sandboxes can import it (`@app/core/keyed-mutex`) without
 * the rest of the core module.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
