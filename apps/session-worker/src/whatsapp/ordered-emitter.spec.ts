import { orderedEmitter } from './ordered-emitter';

describe('orderedEmitter', () => {
  it('emits batches in the order given, although a later one is ready first', async () => {
    const emitted: string[] = [];
    const emitInOrder = orderedEmitter<string>(
      (e) => emitted.push(e),
      () => undefined,
    );
    let releaseSlow!: (events: string[]) => void;
    const slow = new Promise<string[]>((resolve) => (releaseSlow = resolve));

    emitInOrder(Promise.resolve(['text 1']));
    emitInOrder(slow);
    emitInOrder(Promise.resolve(['text 2', 'receipt 2']));
    await new Promise((resolve) => setImmediate(resolve));
    expect(emitted).toEqual(['text 1']);

    releaseSlow(['media']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(emitted).toEqual(['text 1', 'media', 'text 2', 'receipt 2']);
  });

  it('reports a failed batch and goes on with the next', async () => {
    const emitted: string[] = [];
    const errors: unknown[] = [];
    const emitInOrder = orderedEmitter<string>(
      (e) => emitted.push(e),
      (err) => errors.push(err),
    );
    emitInOrder(Promise.reject(new Error('broken')));
    emitInOrder(Promise.resolve(['next']));
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([new Error('broken')]);
    expect(emitted).toEqual(['next']);
  });
});
