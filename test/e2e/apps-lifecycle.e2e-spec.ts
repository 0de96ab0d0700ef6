import { AppProcess, waitForHttp } from '@app/testing/app-process';
import { freePort, startNatsServer, type NatsServerHandle } from '@app/testing';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import { runMigrations } from '@app/persistence';

/**
 * Each app, built and run as a process against a private NATS and a throwaway database: it boots,
 * reports ready only when both answer, and on SIGTERM drains NATS, closes the database and exits 0.
 */
describe.each(['api', 'session-worker', 'sync'])('%s process lifecycle', (app) => {
  let nats: NatsServerHandle;
  let db: TestDatabase;

  beforeAll(async () => {
    nats = await startNatsServer();
    db = await createTestDatabase(`test_lifecycle_${app.replace('-', '_')}`);
    await runMigrations(db.url, () => undefined);
  });

  afterAll(async () => {
    await nats?.stop();
    await db?.drop();
  });

  it('boots, reports ready and live, serves metrics, then shuts down cleanly on SIGTERM', async () => {
    const port = await freePort();
    const proc = AppProcess.start({
      app,
      env: { NATS_URL: nats.url, DATABASE_URL: db.url, HTTP_PORT: String(port), LOG_LEVEL: 'info' },
    });
    try {
      const ready = await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
      expect(await ready.json()).toMatchObject({
        status: 'ok',
        checks: { nats: { ok: true }, postgres: { ok: true } },
      });
      await waitForHttp(`http://127.0.0.1:${port}/health/live`);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain(`process_resident_memory_bytes{app="${app}"}`);

      const exit = await proc.stop('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
      expect(proc.hasLog((l) => l.msg === 'NATS connection closed')).toBe(true);
      expect(proc.hasLog((l) => l.msg === 'PostgreSQL pool closed')).toBe(true);
    } finally {
      await proc.stop('SIGKILL');
    }
  }, 60_000);

  it('stays unready while NATS is down and recovers by itself when it returns', async () => {
    const port = await freePort();
    const proc = AppProcess.start({
      app,
      env: { NATS_URL: nats.url, DATABASE_URL: db.url, HTTP_PORT: String(port), LOG_LEVEL: 'info' },
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
      await nats.down();
      const unready = await waitForHttp(`http://127.0.0.1:${port}/health/ready`, 503);
      expect(await unready.json()).toMatchObject({ status: 'failing', checks: { nats: { ok: false } } });
      // Liveness stays green: a reconnecting client must not get the pod restarted.
      await waitForHttp(`http://127.0.0.1:${port}/health/live`, 200);
      await nats.up();
      await waitForHttp(`http://127.0.0.1:${port}/health/ready`, 200, 30_000);
    } finally {
      await proc.stop('SIGTERM');
    }
  }, 90_000);

  it('refuses a bad environment with one line naming every bad variable', async () => {
    const proc = AppProcess.start({
      app,
      env: { NATS_URL: 'http://nope', DATABASE_URL: 'not-a-url', HTTP_PORT: '70000' },
    });
    const exit = await proc.exited;
    expect(exit.code).toBe(1);
    const errorLines = proc.rawLines.filter((l) => l.startsWith('Invalid environment'));
    expect(errorLines).toHaveLength(1);
    for (const name of ['NATS_URL', 'DATABASE_URL', 'HTTP_PORT']) expect(errorLines[0]).toContain(name);
  }, 30_000);
});
