/**
 * Turns many concurrent single-row statements into one multi-row statement. Items submitted in the
 * same turn of the event loop (under load: every handler that reached the same step) go out together
 * at the next turn, so a batch costs one database round trip and one commit instead of one per event,
 * and an idle system adds no delay.
 *
 * `run` gets the items in order and must return one result per item (same order), or throw: then
 * every item of the batch fails with that error (each caller retries its own event).
 */
export class StatementBatcher<I, O> {
  private queue: { item: I; resolve: (value: O) => void; reject: (reason: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 200,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.run(batch.map((entry) => entry.item)).then(
        (results) => {
          if (results.length !== batch.length) {
            const error = new Error(
              `batched statement returned ${results.length} results for ${batch.length} items`,
            );
            for (const entry of batch) entry.reject(error);
            return;
          }
          batch.forEach((entry, i) => entry.resolve(results[i]));
        },
        (err: unknown) => {
          for (const entry of batch) entry.reject(err);
        },
      );
    }
  }
}
