/**
 * Hands batches of events on in the order they were given, although each batch may take its own
 * time to be ready (a message waiting for its media download): a batch is emitted only after every
 * batch before it. Work on the batches runs in parallel; only the emitting waits.
 */
export function orderedEmitter<E>(
  emit: (event: E) => void,
  onError: (err: unknown) => void,
): (batch: Promise<readonly E[]>) => void {
  let previous: Promise<void> = Promise.resolve();
  return (batch) => {
    previous = previous
      .then(async () => {
        for (const event of await batch) emit(event);
      })
      .catch(onError);
  };
}
