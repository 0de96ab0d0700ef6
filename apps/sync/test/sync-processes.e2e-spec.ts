import { AppProcess, waitForHttp } from '@app/testing/app-process';
import { eventually, freePort } from '@app/testing';
import { inboundText, newPhone, startSyncTestKit, uniqueId, type SyncTestKit } from './sync-test-kit';

/**
 * The built sync app as real processes (`npm run build` first), against a private NATS, a throwaway
 * database and the GHL sandbox: a process killed mid-write, and two replicas sharing one token.
 */
describe('sync processes', () => {
  let kit: SyncTestKit;
  const processes: AppProcess[] = [];

  beforeAll(async () => {
    kit = await startSyncTestKit({
      dbPrefix: 'sync_e2e_test',
      sandbox: { rateLimit: { max: 5_000, intervalMs: 10_000 } },
    });
  }, 60_000);

  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop('SIGTERM')));
  });

  afterAll(async () => {
    await kit?.close();
  });

  async function startSync(
    name: string,
    env: Record<string, string> = {},
  ): Promise<{ proc: AppProcess; port: number }> {
    const port = await freePort();
    const proc = AppProcess.start({
      app: 'sync',
      env: kit.syncEnv({
        HTTP_PORT: String(port),
        INSTANCE_ID: uniqueId(name),
        LOG_LEVEL: 'info',
        GHL_RATE_LIMIT_PER_10S: '5000',
        ...env,
      }),
    });
    processes.push(proc);
    await proc.waitForLog((l) => l.msg === 'sync consumers started', 30_000);
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
    return { proc, port };
  }

  async function handled(port: number): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('bus_messages_handled_total{') &&
          l.includes('consumer="sync-messages"') &&
          l.includes('outcome="ack"'),
      );
    return line ? Number(line.split(' ').pop()) : 0;
  }

  it('writes one GHL message when the sync is killed while its GHL call is in flight', async () => {
    const { location } = await kit.installedLocation();
    const phone = newPhone();
    const env = { GHL_REQUEST_TIMEOUT: '2s', SYNC_ACK_WAIT: '3s' };
    const first = await startSync('sync-killed-', env);
    const warm = await kit.publish('message.inbound', location.id, inboundText(phone, 'warm-up'));
    await eventually(() => expect(kit.results(warm.id)).toHaveLength(1), { timeoutMs: 15_000 });

    // GHL holds the next write for 1.5 s; the process dies while it is in flight. GHL still applies it.
    const fault = await kit.admin.addFault({
      match: { operationId: 'add-an-inbound-message', locationId: location.id },
      action: { kind: 'delay', ms: 1_500 },
      times: 1,
    });
    const event = await kit.publish(
      'message.inbound',
      location.id,
      inboundText(phone, 'written exactly once'),
    );
    await eventually(
      async () => expect((await kit.admin.faults()).map((f) => f.id)).not.toContain(fault.id),
      {
        timeoutMs: 10_000,
        intervalMs: 10,
      },
    );
    first.proc.signal('SIGKILL');
    expect(await first.proc.exited).toMatchObject({ signal: 'SIGKILL' });
    await eventually(
      async () => expect((await kit.admin.messages({ altId: event.payload.waMessageId })).length).toBe(1),
      { timeoutMs: 5_000 },
    );
    expect(kit.results(event.id)).toEqual([]);

    // A new process gets the unacknowledged event, finds the intent, waits out the old call and adopts
    // the message GHL already has instead of writing it again.
    await startSync('sync-restarted-', env);
    await eventually(() => expect(kit.results(event.id)).toHaveLength(1), { timeoutMs: 30_000 });
    const [message] = await kit.admin.messages({ altId: event.payload.waMessageId });
    expect(kit.results(event.id)[0].payload).toMatchObject({
      outcome: 'applied',
      ghlMessageId: message.id,
      detail: expect.stringContaining('reconciled'),
    });
    const counts = await kit.admin.counts(location.id);
    expect(counts.messagesByAltId[event.payload.waMessageId]).toBe(1);
    expect(counts.duplicateAltIds).toEqual([]);
    expect(counts.requestsByOperation['get-messages']).toBeGreaterThanOrEqual(1);
    expect(await kit.schemaViolations()).toEqual([]);
  }, 90_000);

  it('refreshes once for 50 concurrent 401s of one location handled by two processes', async () => {
    const a = await startSync('sync-a-');
    const b = await startSync('sync-b-');
    const { location, accessToken } = await kit.installedLocation();
    await kit.admin.expireTokens({ accessToken, kind: 'access' });
    const since = (await kit.admin.requests()).reduce((max, r) => Math.max(max, r.seq), 0);
    const [handledA, handledB] = [await handled(a.port), await handled(b.port)];

    const events = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        kit.publish('message.inbound', location.id, inboundText(newPhone(), `two processes ${i}`)),
      ),
    );
    await eventually(
      () =>
        expect(events.filter((e) => kit.results(e.id)[0]?.payload.outcome === 'applied')).toHaveLength(50),
      { timeoutMs: 45_000 },
    );

    const tokenCalls = (
      await kit.admin.requests({ operationId: 'get-access-token', afterSeq: since })
    ).filter((r) => (r.body as { grant_type?: string }).grant_type === 'refresh_token');
    expect(tokenCalls).toHaveLength(1);
    expect(tokenCalls[0].status).toBe(200);
    expect((await kit.admin.requests({ afterSeq: since })).filter((r) => r.status === 400)).toEqual([]);
    expect(await kit.installationRepository.read(location.id)).toMatchObject({ status: 'active' });
    // Both processes did part of the work (and so both met the 401s).
    expect(await handled(a.port)).toBeGreaterThan(handledA);
    expect(await handled(b.port)).toBeGreaterThan(handledB);
    const refreshedBy = [a, b].filter(({ proc }) => proc.hasLog((l) => l.msg === 'GHL token refreshed'));
    expect(refreshedBy).toHaveLength(1);
    expect((await kit.admin.counts(location.id)).messages.inbound).toBe(50);
  }, 120_000);
});
