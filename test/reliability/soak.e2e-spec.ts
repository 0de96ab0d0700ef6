import { runSoak } from '../../tools/reliability/soak-run';

/**
 * The soak's short variant, in CI: the whole system under steady two-way traffic for a minute and a
 * half, every process's memory sampled each second. Too short to see a slow leak (that is
 * `npm run soak -- --minutes 30`), long enough to catch a fast one (memory climbing by the megabyte
 * per second after start-up) and anything lost or doubled under sustained traffic.
 */
describe('soak, short variant', () => {
  it('keeps every product process within bounds and loses and doubles nothing', async () => {
    const result = await runSoak(
      {
        seconds: 90,
        warmupSeconds: 30,
        sampleSeconds: 1,
        sessions: 4,
        contacts: 2,
        rate: 10,
        outRate: 2,
        workers: 2,
        syncs: 2,
        logDir: process.env.RELIABILITY_LOG_DIR,
        reportEverySeconds: 0,
      },
      () => undefined,
    );
    expect(result.problems).toEqual([]);
    expect(result.check.inbound.sent).toBeGreaterThan(500);
    const products = result.rows.filter((row) => row.product);
    // Two workers, two syncs and the api, each sampled through the whole run.
    expect(products.map((row) => row.name).sort()).toEqual(
      expect.arrayContaining(['api', 'sync-1', 'sync-2']),
    );
    expect(products.length).toBe(5);
    for (const row of products) {
      // A minute after warm-up: a leak of a megabyte a second would add 60 MiB (well past 25 %).
      expect({ process: row.name, growth: row.growth < 0.25 }).toEqual({ process: row.name, growth: true });
    }
  }, 300_000);
});
