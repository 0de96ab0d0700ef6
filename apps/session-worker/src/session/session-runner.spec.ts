import type { EventType } from '@app/contracts';
import { eventually } from '@app/testing';
import pino from 'pino';
import {
  ConnectAbortedError,
  ConnectionClosedError,
  type WhatsAppConnectOptions,
  type WhatsAppConnection,
  type WhatsAppEvent,
} from '../whatsapp/whatsapp.port';
import { DEFAULT_DISCONNECT_POLICY } from './disconnect-policy';
import type { SessionProjectionPatch } from './session-projection.repository';
import { SessionRunner, waMessageIdFor } from './session-runner';

/** A scripted WhatsApp: the test pushes socket events and sees what the runner asked of it. */
class FakeWhatsApp {
  connects: WhatsAppConnectOptions[] = [];
  closes = 0;
  logouts = 0;
  sent: { to: string; text: string; id: string }[] = [];
  /** When set, every send rejects with it. */
  sendError?: Error;
  /** When set, a connect waits for it before "reading the credentials" (a slow database). */
  credsRead?: Promise<void>;

  async connect(options: WhatsAppConnectOptions): Promise<WhatsAppConnection> {
    await this.credsRead;
    // As the adapter does: the last check before a socket is created.
    if (!options.mayOpen()) throw new ConnectAbortedError('lease no longer trusted');
    this.connects.push(options);
    return {
      paired: false,
      sendText: async (to, text, id) => {
        if (this.sendError) throw this.sendError;
        this.sent.push({ to, text, id });
        return { waMessageId: id, sentAt: new Date('2026-11-21T10:00:00Z') };
      },
      requestPairingCode: async () => 'abcd1234',
      logout: async () => {
        this.logouts += 1;
      },
      close: async () => {
        this.closes += 1;
      },
    };
  }

  emit(event: WhatsAppEvent): void {
    const last = this.connects[this.connects.length - 1];
    if (!last) throw new Error('no connection to emit on');
    last.onEvent(event);
  }
}

/**
 * The connect ramp as the runner sees it. Turns come at once unless `holdTurns` is set; then the test
 * grants them with `grant()`. Counts turns given and turns given back.
 */
class FakeTurns {
  granted = 0;
  returned = 0;
  cancelled = 0;
  holdTurns = false;
  private readonly waiting: ((done: () => void) => void)[] = [];

  schedule = (start: (done: () => void) => void): (() => void) => {
    if (!this.holdTurns) {
      this.give(start);
      return () => undefined;
    }
    this.waiting.push(start);
    return () => {
      const index = this.waiting.indexOf(start);
      if (index >= 0) {
        this.waiting.splice(index, 1);
        this.cancelled += 1;
      }
    };
  };

  get inFlight(): number {
    return this.granted - this.returned;
  }

  get queued(): number {
    return this.waiting.length;
  }

  grant(): void {
    const start = this.waiting.shift();
    if (!start) throw new Error('nobody is waiting for a turn');
    this.give(start);
  }

  private give(start: (done: () => void) => void): void {
    this.granted += 1;
    let returned = false;
    start(() => {
      if (returned) throw new Error('a turn was given back twice');
      returned = true;
      this.returned += 1;
    });
  }
}

function setup(
  options: {
    leaseHeld?: () => boolean;
    /** Whether the lease keeper still trusts the lease (default: yes). */
    leaseValid?: () => boolean;
    creds?: object | null;
    projectAccepts?: boolean;
    /** Makes a projection write throw (a database error), when it returns true for the patch. */
    projectThrows?: (patch: SessionProjectionPatch) => boolean;
    /** A publish of this type waits for the returned promise (a bus that does not answer). */
    holdPublish?: (type: EventType) => Promise<void> | undefined;
  } = {},
) {
  const whatsapp = new FakeWhatsApp();
  const published: {
    type: EventType;
    payload: Record<string, unknown>;
    id?: string;
    untilPublished?: boolean;
  }[] = [];
  const projections: SessionProjectionPatch[] = [];
  const turns = new FakeTurns();
  const lease = {
    epoch: 7,
    released: 0,
    isValid: () => options.leaseValid?.() ?? true,
    isHeld: async () => options.leaseHeld?.() ?? true,
    release: async () => void lease.released++,
  };
  const auth = {
    cleared: 0,
    readCreds: async () => (options.creds ? Buffer.from(JSON.stringify(options.creds)) : null),
    readKeys: async () => new Map<string, Buffer>(),
    write: async () => undefined,
    clear: async () => void auth.cleared++,
  };
  let stoppedReason: string | undefined;
  const runner = new SessionRunner({
    locationId: 'loc1',
    workerId: 'w1',
    lease,
    connectTurns: turns,
    whatsapp,
    auth,
    publish: async (type, payload, opts) => {
      await options.holdPublish?.(type);
      published.push({ type, payload: payload, id: opts?.id, untilPublished: opts?.untilPublished });
    },
    project: async (patch) => {
      if (options.projectThrows?.(patch)) throw new Error('timeout exceeded when trying to connect');
      projections.push(patch);
      return options.projectAccepts ?? true;
    },
    policy: { ...DEFAULT_DISCONNECT_POLICY, baseDelayMs: 1, maxDelayMs: 5, random: () => 0 },
    qrMaxRefs: 3,
    logger: pino({ level: 'silent' }),
    onStopped: (reason) => {
      stoppedReason = reason;
    },
  });
  const types = () => published.map((p) => p.type);
  const of = (type: EventType) => published.filter((p) => p.type === type).map((p) => p.payload);
  return {
    runner,
    whatsapp,
    turns,
    published,
    projections,
    lease,
    auth,
    types,
    of,
    stopped: () => stoppedReason,
  };
}

describe('SessionRunner', () => {
  it('publishes each QR with its attempt and expiry, then ready with the phone when opened', async () => {
    const t = setup();
    await t.runner.start();
    t.whatsapp.emit({ type: 'qr', qr: 'qr-1' });
    t.whatsapp.emit({ type: 'qr', qr: 'qr-2' });
    t.whatsapp.emit({
      type: 'open',
      me: { phone: '+15550000001', jid: '15550000001:1@s.whatsapp.net', lid: null, pushName: 'Alice' },
    });
    await eventually(() => expect(t.runner.currentState).toBe('open'));
    expect(t.of('session.qr')).toEqual([
      expect.objectContaining({ qr: 'qr-1', attempt: 1 }),
      expect.objectContaining({ qr: 'qr-2', attempt: 2 }),
    ]);
    expect(t.of('session.ready')).toEqual([
      expect.objectContaining({ phone: '+15550000001', pushName: 'Alice' }),
    ]);
    expect(t.projections.at(-1)).toMatchObject({ state: 'open', phone: '+15550000001', qr: null });
    expect(t.of('session.state_changed').map((p) => p.state)).toEqual(['connecting', 'qr', 'open']);
  });

  it('stops with qr_timeout after the bounded number of QR refs and stays stopped', async () => {
    const t = setup();
    await t.runner.start();
    for (let i = 1; i <= 4; i++) t.whatsapp.emit({ type: 'qr', qr: `qr-${i}` });
    await eventually(() => expect(t.stopped()).toBeDefined());
    expect(t.runner.currentState).toBe('qr_timeout');
    expect(t.of('session.qr')).toHaveLength(3);
    expect(t.projections.at(-1)).toMatchObject({ state: 'qr_timeout', desiredState: 'stopped' });
    expect(t.whatsapp.closes).toBe(1);
    expect(t.lease.released).toBe(1);
    expect(t.whatsapp.connects).toHaveLength(1);
  });

  it('408 "QR refs attempts ended" on an unlinked session is qr_timeout', async () => {
    const t = setup({ creds: null });
    await t.runner.start();
    t.whatsapp.emit({ type: 'close', code: 408, message: 'QR refs attempts ended' });
    await eventually(() => expect(t.runner.currentState).toBe('qr_timeout'));
    expect(t.of('session.disconnected')).toEqual([
      expect.objectContaining({ code: 408, willReconnect: false }),
    ]);
  });

  it('515 reconnects at once with the same credentials', async () => {
    const t = setup({ creds: { me: { id: '15550000001:1@s.whatsapp.net' } } });
    await t.runner.start();
    t.whatsapp.emit({ type: 'close', code: 515, message: 'restart required' });
    await eventually(() => expect(t.whatsapp.connects).toHaveLength(2));
    expect(t.of('session.disconnected')).toEqual([
      expect.objectContaining({ code: 515, willReconnect: true, reconnectInMs: 0 }),
    ]);
  });

  it('a database error before the socket opens is retried with backoff, not left in connecting', async () => {
    let checks = 0;
    const t = setup({
      leaseHeld: () => {
        checks += 1;
        if (checks === 1) throw new Error('timeout exceeded when trying to connect');
        return true;
      },
    });
    await t.runner.start();
    await eventually(() => expect(t.whatsapp.connects).toHaveLength(1));
    expect(checks).toBe(2);
    expect(t.stopped()).toBeUndefined();
  });

  it('515 still reconnects when recording the disconnect fails', async () => {
    let failed = 0;
    const t = setup({
      creds: { me: { id: '15550000001:1@s.whatsapp.net' } },
      projectThrows: (patch) => patch.lastDisconnectCode === 515 && failed++ === 0,
    });
    await t.runner.start();
    t.whatsapp.emit({ type: 'close', code: 515, message: 'restart required' });
    await eventually(() => expect(t.whatsapp.connects).toHaveLength(2));
    // The failed write was retried (once more) and recorded.
    await eventually(() =>
      expect(t.projections.some((patch) => patch.lastDisconnectCode === 515)).toBe(true),
    );
    expect(failed).toBe(2);
  });

  it('401 clears the credentials, publishes logged_out and does not reconnect', async () => {
    const t = setup({ creds: { me: { id: '15550000001:1@s.whatsapp.net' } } });
    await t.runner.start();
    t.whatsapp.emit({ type: 'close', code: 401, message: 'Stream Errored (conflict)' });
    await eventually(() => expect(t.stopped()).toBeDefined());
    expect(t.auth.cleared).toBe(1);
    expect(t.runner.currentState).toBe('logged_out');
    expect(t.of('session.logged_out')).toHaveLength(1);
    expect(t.whatsapp.connects).toHaveLength(1);
    expect(t.lease.released).toBe(1);
  });

  it('440 with the lease elsewhere yields: no reconnect, no state write, lease not released', async () => {
    let held = true;
    const t = setup({ leaseHeld: () => held, creds: { me: { id: 'x' } } });
    await t.runner.start();
    const writesBefore = t.projections.length;
    held = false;
    t.whatsapp.emit({ type: 'close', code: 440, message: 'Stream Errored (conflict)' });
    await eventually(() => expect(t.stopped()).toContain('lease is held elsewhere'));
    expect(t.projections).toHaveLength(writesBefore);
    expect(t.whatsapp.connects).toHaveLength(1);
    expect(t.lease.released).toBe(0);
  });

  it('428 reconnects with backoff, and the next connect re-checks the lease first', async () => {
    let held = true;
    const t = setup({ leaseHeld: () => held, creds: { me: { id: 'x' } } });
    await t.runner.start();
    t.whatsapp.emit({ type: 'close', code: 428, message: 'Connection Terminated' });
    await eventually(() => expect(t.whatsapp.connects).toHaveLength(2));
    held = false;
    t.whatsapp.emit({ type: 'close', code: 428, message: 'Connection Terminated' });
    await eventually(() => expect(t.stopped()).toBeDefined());
    expect(t.whatsapp.connects).toHaveLength(2);
  });

  it('a fenced credential write closes the socket at once and never writes state again', async () => {
    const t = setup();
    await t.runner.start();
    const writesBefore = t.projections.length;
    t.whatsapp.emit({ type: 'fenced', detail: 'epoch 8 exists' });
    await eventually(() => expect(t.stopped()).toBe('fenced by a newer lease'));
    expect(t.whatsapp.closes).toBe(1);
    expect(t.projections).toHaveLength(writesBefore);
    expect(t.lease.released).toBe(0);
  });

  it('a refused projection write abandons the session before any socket opens', async () => {
    const t = setup({ projectAccepts: false });
    await t.runner.start();
    await eventually(() => expect(t.stopped()).toBe('fenced by a newer lease'));
    expect(t.whatsapp.connects).toHaveLength(0);
    expect(t.lease.released).toBe(0);
  });

  it('publishes inbound messages and phone-typed outbound ones with deterministic ids, not its own sends twice', async () => {
    const t = setup();
    await t.runner.start();
    t.whatsapp.emit({
      type: 'open',
      me: { phone: '+15550000001', jid: 'a@s.whatsapp.net', lid: null, pushName: null },
    });
    await eventually(() => expect(t.runner.currentState).toBe('open'));
    const bob = { phone: '+15550000002', jid: '15550000002@s.whatsapp.net', lid: '1@lid', pushName: 'Bob' };
    const at = new Date('2026-11-21T10:00:00Z');
    t.whatsapp.emit({
      type: 'message',
      fromMe: false,
      waMessageId: 'IN1',
      chatJid: bob.jid,
      party: bob,
      sentAt: at,
      content: { kind: 'text', text: 'hi' },
    });
    const sent = await t.runner.send('+15550000002', 'ghl:m1', { kind: 'text', text: 'hello Bob' });
    expect(sent.waMessageId).toBe(waMessageIdFor('loc1', 'ghl:m1'));
    t.whatsapp.emit({
      type: 'message',
      fromMe: true,
      waMessageId: sent.waMessageId,
      chatJid: bob.jid,
      party: bob,
      sentAt: at,
      content: { kind: 'text', text: 'hello Bob' },
    });
    t.whatsapp.emit({
      type: 'message',
      fromMe: true,
      waMessageId: 'PHONE1',
      chatJid: bob.jid,
      party: bob,
      sentAt: at,
      content: { kind: 'text', text: 'typed on phone' },
    });
    t.whatsapp.emit({
      type: 'receipt',
      waMessageId: sent.waMessageId,
      chatJid: bob.jid,
      status: 'delivered',
      at,
    });
    await eventually(() => expect(t.of('message.status')).toHaveLength(1));
    const ids = t.published.filter((p) => p.type.startsWith('message.')).map((p) => [p.type, p.id]);
    expect(ids).toEqual([
      ['message.inbound', 'msg-in:loc1:IN1'],
      ['message.outbound', `msg-out:loc1:${sent.waMessageId}`],
      ['message.outbound', 'msg-out:loc1:PHONE1'],
      ['message.status', `msg-status:loc1:${sent.waMessageId}:delivered`],
    ]);
    expect(t.of('message.outbound').map((p) => p.origin)).toEqual(['bridge', 'phone']);
    expect(t.whatsapp.sent).toEqual([{ to: '+15550000002', text: 'hello Bob', id: sent.waMessageId }]);
  });

  it('refuses to send unless open, with a typed error', async () => {
    const t = setup();
    await t.runner.start();
    await expect(t.runner.send('+15550000002', 'c1', { kind: 'text', text: 'x' })).rejects.toMatchObject({
      code: 'not_connected',
    });
  });

  it('answers a send the socket closed under with not_connected (retryable), other failures as they are', async () => {
    const t = setup();
    await t.runner.start();
    t.whatsapp.emit({
      type: 'open',
      me: { phone: '+15550000001', jid: 'a@s.whatsapp.net', lid: null, pushName: null },
    });
    await eventually(() => expect(t.runner.currentState).toBe('open'));
    t.whatsapp.sendError = new ConnectionClosedError();
    await expect(t.runner.send('+15550000002', 'c1', { kind: 'text', text: 'x' })).rejects.toMatchObject({
      code: 'not_connected',
      retryable: true,
    });
    t.whatsapp.sendError = new Error('encryption failed');
    await expect(t.runner.send('+15550000002', 'c2', { kind: 'text', text: 'x' })).rejects.toThrow(
      'encryption failed',
    );
    expect(t.of('message.outbound')).toEqual([]);
  });

  it('still publishes a message WhatsApp delivered as the session stopped, but no lifecycle event', async () => {
    const t = setup();
    await t.runner.start();
    t.whatsapp.emit({
      type: 'open',
      me: { phone: '+15550000001', jid: 'a@s.whatsapp.net', lid: null, pushName: null },
    });
    await eventually(() => expect(t.runner.currentState).toBe('open'));
    await t.runner.stop('handing over', 'keep');
    const published = t.published.length;
    const bob = { phone: '+15550000002', jid: '15550000002@s.whatsapp.net', lid: null, pushName: 'Bob' };
    t.whatsapp.emit({
      type: 'message',
      fromMe: false,
      waMessageId: 'LATE1',
      chatJid: bob.jid,
      party: bob,
      sentAt: new Date('2026-11-21T10:00:00Z'),
      content: { kind: 'text', text: 'acknowledged just before the close' },
    });
    t.whatsapp.emit({ type: 'close', code: 428, message: 'Connection Terminated' });
    await eventually(() => expect(t.of('message.inbound')).toHaveLength(1));
    expect(t.published.slice(published).map((p) => p.type)).toEqual(['message.inbound']);
    expect(t.whatsapp.connects).toHaveLength(1);
  });

  it('publishes a delivered message until the bus takes it, without holding up the session meanwhile', async () => {
    let busBack!: () => void;
    const outage = new Promise<void>((resolve) => (busBack = resolve));
    const t = setup({ holdPublish: (type) => (type === 'message.inbound' ? outage : undefined) });
    await t.runner.start();
    t.whatsapp.emit({
      type: 'open',
      me: { phone: '+15550000001', jid: 'a@s.whatsapp.net', lid: null, pushName: null },
    });
    await eventually(() => expect(t.runner.currentState).toBe('open'));
    const bob = { phone: '+15550000002', jid: '15550000002@s.whatsapp.net', lid: null, pushName: 'Bob' };
    t.whatsapp.emit({
      type: 'message',
      fromMe: false,
      waMessageId: 'DURING-OUTAGE',
      chatJid: bob.jid,
      party: bob,
      sentAt: new Date('2026-11-21T10:00:00Z'),
      content: { kind: 'text', text: 'hi' },
    });
    // The session still reacts to WhatsApp while the message waits for the bus.
    t.whatsapp.emit({ type: 'close', code: 515, message: 'restart required' });
    await eventually(() => expect(t.whatsapp.connects).toHaveLength(2));
    expect(t.of('message.inbound')).toEqual([]);
    busBack();
    await eventually(() => expect(t.of('message.inbound')).toHaveLength(1));
    expect(t.published.find((p) => p.type === 'message.inbound')).toMatchObject({
      id: 'msg-in:loc1:DURING-OUTAGE',
      untilPublished: true,
    });
    expect(t.published.find((p) => p.type === 'session.disconnected')?.untilPublished).toBeFalsy();
  });

  it('logout unlinks on WhatsApp, clears auth, stays stopped', async () => {
    const t = setup();
    await t.runner.start();
    await t.runner.logout();
    expect(t.whatsapp.logouts).toBe(1);
    expect(t.auth.cleared).toBe(1);
    expect(t.projections.at(-1)).toMatchObject({ state: 'logged_out', desiredState: 'stopped' });
    expect(t.lease.released).toBe(1);
  });

  describe('connect turns', () => {
    const me = { phone: '+15550000001', jid: '15550000001:1@s.whatsapp.net', lid: null, pushName: null };

    it('connects only when given a turn, and gives it back once the socket settles on a QR', async () => {
      const t = setup();
      t.turns.holdTurns = true;
      const started = t.runner.start();
      await new Promise((resolve) => setImmediate(resolve));
      expect(t.whatsapp.connects).toHaveLength(0);

      t.turns.grant();
      await started;
      expect(t.whatsapp.connects).toHaveLength(1);
      expect(t.turns.inFlight).toBe(1); // the socket is opening: the turn is still held
      t.whatsapp.emit({ type: 'qr', qr: 'qr-1' });
      await eventually(() => expect(t.turns.inFlight).toBe(0));
    });

    it('holds the turn through login until open, and every reconnect takes a new turn', async () => {
      const t = setup({ creds: { me: { id: me.jid } } });
      await t.runner.start();
      t.whatsapp.emit({ type: 'close', code: 515, message: 'restart required' });
      await eventually(() => expect(t.whatsapp.connects).toHaveLength(2));
      expect(t.turns.granted).toBe(2);
      expect(t.turns.inFlight).toBe(1);
      t.whatsapp.emit({ type: 'open', me });
      await eventually(() => expect(t.runner.currentState).toBe('open'));
      expect(t.turns.inFlight).toBe(0);
    });

    it('a stop while waiting for a turn cancels the wait: no socket ever opens', async () => {
      const t = setup();
      t.turns.holdTurns = true;
      const started = t.runner.start();
      await t.runner.stop('stopped by request', 'stopped');
      await started;
      expect(t.turns.cancelled).toBe(1);
      expect(t.turns.queued).toBe(0);
      expect(t.whatsapp.connects).toHaveLength(0);
      expect(t.lease.released).toBe(1);
    });

    it('opens no socket when the lease stops being trusted while the credentials are read', async () => {
      let valid = true;
      const t = setup({ leaseValid: () => valid });
      let read!: () => void;
      t.whatsapp.credsRead = new Promise((resolve) => (read = resolve));
      const started = t.runner.start();
      await eventually(() => expect(t.turns.granted).toBe(1));
      valid = false;
      read();
      await started;
      expect(t.whatsapp.connects).toHaveLength(0);
      expect(t.stopped()).toBe('lease lost before connecting');
      expect(t.turns.inFlight).toBe(0);
      expect(t.lease.released).toBe(0);
    });

    it('closes a socket whose connect finished after the lease was lost', async () => {
      let valid = true;
      const t = setup({ leaseValid: () => valid });
      const original = t.whatsapp.connect.bind(t.whatsapp);
      let finishConnect!: () => void;
      const connected = new Promise<void>((resolve) => (finishConnect = resolve));
      t.whatsapp.connect = async (options) => {
        const connection = await original(options);
        await connected; // the socket exists, the connect has not returned yet
        return connection;
      };
      const started = t.runner.start();
      await eventually(() => expect(t.whatsapp.connects).toHaveLength(1));
      valid = false;
      const abandoned = t.runner.abandon('lease lost: unconfirmed'); // finds no connection to close yet
      finishConnect();
      await Promise.all([started, abandoned]);
      expect(t.whatsapp.closes).toBe(1);
      expect(t.stopped()).toBe('lease lost while connecting');
    });

    it('gives the turn back when the lease is gone before the socket opens', async () => {
      const t = setup({ leaseHeld: () => false });
      await t.runner.start();
      expect(t.stopped()).toBe('lease lost before connecting');
      expect(t.turns).toMatchObject({ granted: 1, returned: 1 });
    });
  });

  describe('database errors after the socket opened', () => {
    const me = { phone: '+15550000001', jid: '15550000001:1@s.whatsapp.net', lid: null, pushName: 'Alice' };

    it('an open whose projection write fails is retried: the api sees open and ready is published', async () => {
      let failures = 0;
      const t = setup({ projectThrows: (patch) => patch.state === 'open' && failures++ < 2 });
      await t.runner.start();
      t.whatsapp.emit({ type: 'open', me });
      await eventually(() => expect(t.of('session.ready')).toHaveLength(1));
      expect(failures).toBe(3);
      expect(t.projections.at(-1)).toMatchObject({ state: 'open', phone: '+15550000001' });
      expect(t.stopped()).toBeUndefined();
    });

    it('a terminal stop whose writes fail is retried, recorded, and the lease released', async () => {
      let failures = 0;
      const t = setup({
        creds: { me: { id: me.jid } },
        projectThrows: (patch) => patch.state === 'forbidden' && failures++ < 2,
      });
      await t.runner.start();
      t.whatsapp.emit({ type: 'close', code: 403, message: 'forbidden' });
      await eventually(() => expect(t.stopped()).toBeDefined());
      expect(t.projections.at(-1)).toMatchObject({ state: 'forbidden', desiredState: 'stopped' });
      expect(t.lease.released).toBe(1);
    });

    it('stops retrying once the lease is no longer trusted, and still gives the session up', async () => {
      let valid = true;
      let attempts = 0;
      const t = setup({
        leaseValid: () => valid,
        creds: { me: { id: me.jid } },
        projectThrows: (patch) => {
          if (patch.state !== 'forbidden') return false;
          attempts += 1;
          if (attempts === 2) valid = false;
          return true;
        },
      });
      await t.runner.start();
      t.whatsapp.emit({ type: 'close', code: 403, message: 'forbidden' });
      await eventually(() => expect(t.stopped()).toBeDefined());
      expect(attempts).toBe(2);
      expect(t.projections.some((patch) => patch.state === 'forbidden')).toBe(false);
    });
  });
});
