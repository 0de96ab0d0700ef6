import { CommandError } from '@app/messaging';
import { eventually } from '@app/testing';
import { WorkerCluster } from '@app/testing/worker-cluster';

/**
 * The session worker end to end: built worker processes, real Baileys, the WhatsApp sandbox, real
 * NATS and Postgres. The test acts as the api would: commands over NATS, state from the projection.
 */
describe('session worker: one session, one worker', () => {
  let cluster: WorkerCluster;

  beforeAll(async () => {
    cluster = await WorkerCluster.start();
    await cluster.startWorker('worker-a');
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('start → QR → scan → ready → inbound text → send → outbox → receipts', async () => {
    const loc = 'locStory01';
    await cluster.link(loc, '15550000101', 'Alice');
    const ready = await cluster.waitForEvent(loc, 'session.ready');
    expect(ready.payload).toMatchObject({ phone: '+15550000101', pushName: 'Alice', workerId: 'worker-a' });
    const qr = cluster.eventsOf(loc, 'session.qr')[0];
    expect(new Date(qr.payload.expiresAt).getTime()).toBeGreaterThan(new Date(qr.occurredAt).getTime());

    const sent = await cluster.sandbox.admin.sendText({
      from: '15550000102',
      to: '15550000101',
      text: 'hello from Bob',
      pushName: 'Bob',
    });
    const inbound = await cluster.waitForEvent(
      loc,
      'message.inbound',
      (e) => e.payload.waMessageId === sent.id,
    );
    expect(inbound.id).toBe(`msg-in:${loc}:${sent.id}`);
    expect(inbound.payload).toMatchObject({
      content: { kind: 'text', text: 'hello from Bob' },
      from: { phone: '+15550000102', pushName: 'Bob', lid: expect.stringMatching(/@lid$/) },
    });

    const result = await cluster.commands.request('session.send', loc, {
      to: '+15550000102',
      clientMessageId: 'e2e-1',
      content: { kind: 'text', text: 'hi Bob, from the bridge' },
    });
    await eventually(async () => {
      const outbox = await cluster.sandbox.admin.outboxAll('15550000101');
      expect(outbox).toContainEqual(
        expect.objectContaining({ kind: 'message', id: result.waMessageId, text: 'hi Bob, from the bridge' }),
      );
    });
    const outbound = await cluster.waitForEvent(
      loc,
      'message.outbound',
      (e) => e.payload.waMessageId === result.waMessageId,
    );
    expect(outbound.payload).toMatchObject({ origin: 'bridge', clientMessageId: 'e2e-1' });
    await cluster.waitForEvent(
      loc,
      'message.status',
      (e) => e.payload.waMessageId === result.waMessageId && e.payload.status === 'delivered',
    );
    await cluster.sandbox.admin.sendReceipt({
      from: '15550000102',
      to: '15550000101',
      ids: [result.waMessageId],
      type: 'read',
    });
    await cluster.waitForEvent(
      loc,
      'message.status',
      (e) => e.payload.waMessageId === result.waMessageId && e.payload.status === 'read',
    );
    expect(await cluster.doubleConnections()).toBe(0);
  }, 60_000);

  it("publishes a bridge send once, as origin bridge: WhatsApp's echo of it is not taken for a phone-typed message", async () => {
    const loc = 'locStory01';
    const before = cluster.eventsOf(loc, 'message.outbound').length;
    await cluster.commands.request('session.send', loc, {
      to: '+15550000102',
      clientMessageId: 'e2e-2',
      content: { kind: 'text', text: 'second' },
    });
    await eventually(() => expect(cluster.eventsOf(loc, 'message.outbound')).toHaveLength(before + 1));
    expect(cluster.eventsOf(loc, 'message.outbound').every((e) => e.payload.origin === 'bridge')).toBe(true);
  }, 30_000);

  it('the same send twice (same clientMessageId) reuses the WhatsApp message id', async () => {
    const loc = 'locStory01';
    const payload = {
      to: '+15550000102',
      clientMessageId: 'e2e-dup',
      content: { kind: 'text' as const, text: 'once' },
    };
    const first = await cluster.commands.request('session.send', loc, payload);
    const second = await cluster.commands.request('session.send', loc, payload);
    expect(second.waMessageId).toBe(first.waMessageId);
  }, 30_000);

  it('answers bad commands with typed errors, never a hang', async () => {
    const expectCode = async (promise: Promise<unknown>, code: string) => {
      const error = await promise.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CommandError);
      expect((error as CommandError).code).toBe(code);
    };
    await expectCode(cluster.commands.request('session.start', 'locNotInstalled', {}), 'unknown_location');
    await expectCode(
      cluster.commands.request('session.send', 'locNobodyOwns', {
        to: '+15550000102',
        clientMessageId: 'x',
        content: { kind: 'text', text: 'x' },
      }),
      'no_responder',
    );
    await expectCode(
      cluster.commands.request('session.send', 'locStory01', {
        to: 'not-a-phone',
        clientMessageId: 'x',
        content: { kind: 'text', text: 'x' },
      }),
      'invalid_request',
    );
    await expectCode(
      cluster.commands.request('session.request_pairing_code', 'locStory01', { phone: '+15550000101' }),
      'session_not_running',
    );

    // A malformed payload sent around the typed client reaches the worker and is refused with the field named.
    const reply = await cluster.connection.nc.request(
      'cmd.locStory01.session.send',
      JSON.stringify({
        id: 'raw',
        type: 'session.send',
        version: 1,
        occurredAt: new Date().toISOString(),
        locationId: 'locStory01',
        correlationId: 'raw',
        causationId: null,
        payload: { to: 42 },
      }),
      { timeout: 5000 },
    );
    expect(JSON.parse(reply.string())).toMatchObject({
      ok: false,
      error: { code: 'invalid_request', message: expect.stringContaining('payload.to') },
    });

    // Not open yet: a fresh session waiting for its QR cannot send.
    await cluster.install('locWaiting01');
    await cluster.commands.request('session.start', 'locWaiting01', {});
    await cluster.waitForEvent('locWaiting01', 'session.qr');
    await expectCode(
      cluster.commands.request('session.send', 'locWaiting01', {
        to: '+15550000102',
        clientMessageId: 'y',
        content: { kind: 'text', text: 'y' },
      }),
      'not_connected',
    );
    await cluster.commands.request('session.stop', 'locWaiting01', {});
    expect(await cluster.sessionRow('locWaiting01')).toMatchObject({
      state: 'stopped',
      desired_state: 'stopped',
    });
  }, 60_000);

  it('reports sessions, QR and open timings in its metrics', async () => {
    const port = cluster.workers.get('worker-a')!.options.env.HTTP_PORT;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^wa_sessions\{state="open",app="session-worker"\} 1$/m);
    expect(metrics).toMatch(/^wa_sessions_owned\{app="session-worker"\} 1$/m);
    expect(metrics).toMatch(/^wa_qr_emitted_total\{app="session-worker"\} [1-9]/m);
    expect(metrics).toMatch(/^wa_time_to_open_seconds_count\{app="session-worker"\} [1-9]/m);
    expect(metrics).toMatch(/^wa_conflicts_total\{app="session-worker"\} 0$/m);
  }, 30_000);

  it('a start for a running session changes nothing', async () => {
    const loc = 'locStory01';
    const qrsBefore = cluster.eventsOf(loc, 'session.qr').length;
    const reply = await cluster.commands.request('session.start', loc, {});
    expect(reply).toEqual({ state: 'open', workerId: 'worker-a' });
    expect(cluster.eventsOf(loc, 'session.qr')).toHaveLength(qrsBefore);
  }, 30_000);
});
