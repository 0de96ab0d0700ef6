import { runViolations, sleep, SystemHarness } from '@app/testing/reliability/system-harness';
import type { Workload } from '@app/testing/reliability/workload';

/**
 * The short fault run of issue #9, in CI: the whole system as processes (two session workers, two
 * syncs, the api, both sandboxes, a private NATS), traffic both ways, and one fault after another —
 * kill -9 of a worker and a sync, NATS down and up, a GHL 429 and 503 burst, WhatsApp closing half the
 * sessions with 440 and 515. Afterwards nothing may be lost or doubled, WhatsApp never sees two
 * connections of one device, and every session is open. The long runs are `npm run reliability`.
 */
describe('the whole system under faults', () => {
  let harness: SystemHarness;
  let workload: Workload;

  beforeAll(async () => {
    // RELIABILITY_LOG_DIR keeps every process's output for a post-mortem.
    harness = await SystemHarness.start({
      workers: 2,
      syncs: 2,
      proxies: true,
      logDir: process.env.RELIABILITY_LOG_DIR,
    });
    await harness.link(SystemHarness.sessionSpecs(4, 'ciLoc'));
    workload = await harness.warmWorkload(2, { inboundPerSecond: 8, outboundPerSecond: 2, runTag: 'ci' });
  }, 120_000);

  afterAll(async () => {
    await workload?.stop();
    await harness?.stop();
  }, 60_000);

  it('loses and doubles nothing, and every session ends open', async () => {
    workload.start();
    await sleep(2_000);

    const worker = [...harness.cluster.workers.keys()][0];
    const oldOwner = harness.instanceId(worker);
    const [moved] = await Promise.all([harness.killWorker(worker), harness.killSync('sync-1')]);
    await harness.waitForOpen(moved, 30_000, oldOwner);
    await harness.startSync('sync-1');

    await harness.restartNats(2_000);
    await harness.ghlStorm('429', 3_000);
    await sleep(3_000);
    await harness.ghlStorm('5xx', 3_000, 503);
    await harness.waFault('replaced', 50);
    await sleep(2_000);
    await harness.waFault('restart', 50);
    await sleep(3_000);
    await workload.stop();

    await harness.waitForDeliveries(workload, 60_000);
    await harness.waitForOpen(
      harness.sessions.map((s) => s.locationId),
      30_000,
    );
    const check = await harness.check(workload);
    if (process.env.RELIABILITY_LOG_DIR) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        `${process.env.RELIABILITY_LOG_DIR}/check.json`,
        JSON.stringify(
          {
            check,
            faults: harness.faults,
            workload: workload.inbound,
            diagnostics: await harness.diagnostics(),
          },
          null,
          1,
        ),
      );
    }
    // Every fault above really happened (a fault that hit nothing would prove nothing).
    expect(moved.length).toBeGreaterThan(0);
    expect(check.closes440.injected).toBeGreaterThan(0);
    expect(check.inbound.sent).toBeGreaterThan(100);
    expect(check.outbound?.sent).toBeGreaterThan(20);

    // Order through a failover is measured by the long runs (docs/RELIABILITY.md), not promised here.
    expect(runViolations(check, { order: false })).toEqual([]);
    expect(check.sessions).toEqual({ doubleConnections: 0, selfInflicted440s: 0, notOpen: [] });
  }, 150_000);
});
