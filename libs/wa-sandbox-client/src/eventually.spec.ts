import { eventually } from './eventually';

describe('eventually', () => {
  it('resolves with the first defined value', async () => {
    let calls = 0;
    await expect(eventually(() => (++calls >= 3 ? calls : undefined), { intervalMs: 1 })).resolves.toBe(3);
  });

  it('retries while the probe throws, and reports the last error on timeout', async () => {
    await expect(
      eventually(
        () => {
          throw new Error('still not there');
        },
        { timeoutMs: 30, intervalMs: 5, what: 'the thing' },
      ),
    ).rejects.toThrow(/waiting for the thing: still not there/);
  });
});
