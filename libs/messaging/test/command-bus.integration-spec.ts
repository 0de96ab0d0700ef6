import { commandSubject, createCommand, GLOBAL_SCOPE } from '@app/contracts';
import { CommandBus, CommandSubscription } from '../src/command-bus';
import { CommandError } from '../src/errors/command.error';
import { BusHarness, startBus } from './bus-harness';
import { LOCATION } from './fixtures';

const SEND = {
  to: '+15550000002',
  clientMessageId: 'client-1',
  content: { kind: 'text' as const, text: 'hello' },
};

describe('CommandBus (real nats-server)', () => {
  let bus: BusHarness;
  let caller: CommandBus;
  let server: CommandBus;
  const subscriptions: CommandSubscription[] = [];

  beforeAll(async () => {
    bus = await startBus({ provision: false });
    caller = new CommandBus(bus.connection, bus.logger, { defaultTimeoutMs: 2_000 });
    // The serving side has its own connection, as a worker process would.
    server = new CommandBus(await bus.connect('worker'), bus.logger);
  });
  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.unsubscribe()));
  });
  afterAll(() => bus.close());

  async function serve(...args: Parameters<CommandBus['handle']>): Promise<void> {
    const subscription = server.handle(...args);
    subscriptions.push(subscription);
    await subscription.ready;
  }

  async function failure(promise: Promise<unknown>): Promise<CommandError> {
    const error = await promise.then(
      () => {
        throw new Error('expected the command to fail');
      },
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(CommandError);
    return error as CommandError;
  }

  it('returns the validated result of the handler', async () => {
    const seen: unknown[] = [];
    await serve('session.send', LOCATION, async (envelope) => {
      seen.push(envelope);
      return { waMessageId: 'wamid-9', sentAt: '2026-01-01T00:00:00.000Z' };
    });

    const result = await caller.request('session.send', LOCATION, SEND, {
      meta: { correlationId: 'corr-1' },
    });

    expect(result).toEqual({ waMessageId: 'wamid-9', sentAt: '2026-01-01T00:00:00.000Z' });
    expect(seen).toEqual([
      expect.objectContaining({
        type: 'session.send',
        locationId: LOCATION,
        correlationId: 'corr-1',
        payload: SEND,
      }),
    ]);
  });

  it('passes a typed error from the handler through to the caller, with its retryable flag', async () => {
    await serve('session.stop', LOCATION, async () => {
      throw new CommandError('not_owner', 'session is owned by worker-2', { retryable: false });
    });
    const error = await failure(caller.request('session.stop', LOCATION, {}));
    expect(error.toBody()).toEqual({
      code: 'not_owner',
      message: 'session is owned by worker-2',
      retryable: false,
    });
  });

  it('answers a malformed request with invalid_request naming the bad field', async () => {
    let called = false;
    await serve('session.send', LOCATION, async () => {
      called = true;
      return { waMessageId: 'x', sentAt: '2026-01-01T00:00:00.000Z' };
    });
    const envelope = createCommand('session.send', LOCATION, SEND);
    const bad = { ...envelope, payload: { ...SEND, to: '0555' } };

    const reply = await bus.connection.nc.request(
      commandSubject('session.send', LOCATION),
      JSON.stringify(bad),
      {
        timeout: 2_000,
      },
    );
    const body = reply.json<{ ok: boolean; error: { code: string; message: string; retryable: boolean } }>();
    expect(body.ok).toBe(false);
    expect(body.error).toMatchObject({ code: 'invalid_request', retryable: false });
    expect(body.error.message).toMatch(/payload\.to/);

    const notJson = await bus.connection.nc.request(commandSubject('session.send', LOCATION), '{oops', {
      timeout: 2_000,
    });
    expect(notJson.json()).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(called).toBe(false);
  });

  it('refuses a bad payload on the calling side without sending it', async () => {
    let called = false;
    await serve('session.send', LOCATION, async () => {
      called = true;
      return { waMessageId: 'x', sentAt: '2026-01-01T00:00:00.000Z' };
    });
    const error = await failure(caller.request('session.send', LOCATION, { ...SEND, to: 'not-a-phone' }));
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/payload\.to/);
    expect(called).toBe(false);
  });

  it('fails with no_responder when nobody serves the location', async () => {
    const error = await failure(caller.request('session.start', 'unowned', {}));
    expect(error).toMatchObject({ code: 'no_responder', retryable: true });
  });

  it('fails with timeout when the owner does not answer in time', async () => {
    await serve('session.restart', LOCATION, () => new Promise(() => undefined));
    const started = Date.now();
    const error = await failure(caller.request('session.restart', LOCATION, {}, { timeoutMs: 300 }));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('hides an unexpected handler error behind internal', async () => {
    await serve('session.logout', LOCATION, async () => {
      throw new Error('db password is hunter2');
    });
    const error = await failure(caller.request('session.logout', LOCATION, {}));
    expect(error.code).toBe('internal');
    expect(error.message).not.toMatch(/hunter2/);
  });

  it('answers internal when the handler result breaks the contract', async () => {
    await serve('session.start', LOCATION, async () => ({ state: 'dancing', workerId: null }) as never);
    const error = await failure(caller.request('session.start', LOCATION, {}));
    expect(error.code).toBe('internal');
  });

  it('reports a malformed reply as internal', async () => {
    const raw = bus.connection.nc.subscribe(commandSubject('session.stop', 'rogue'), {
      callback: (_err, msg) => msg.respond('{"ok":true,"result":{"nope":1}}'),
    });
    try {
      const error = await failure(caller.request('session.stop', 'rogue', {}));
      expect(error).toMatchObject({ code: 'internal', message: 'malformed reply to session.stop' });
    } finally {
      raw.unsubscribe();
    }
  });

  it("serves every location with the '*' scope, and global commands on the reserved scope", async () => {
    await serve('session.start', '*', async (envelope) => ({
      state: 'starting',
      workerId: `w-for-${envelope.locationId}`,
    }));
    await serve('oauth.exchange_code', '*', async (envelope) => {
      expect(envelope.locationId).toBe(GLOBAL_SCOPE);
      return { userType: 'Location', companyId: null, locationIds: ['loc-a'] };
    });

    await expect(caller.request('session.start', 'locA', {})).resolves.toEqual({
      state: 'starting',
      workerId: 'w-for-locA',
    });
    await expect(caller.request('session.start', 'locB', {})).resolves.toEqual({
      state: 'starting',
      workerId: 'w-for-locB',
    });
    await expect(caller.request('oauth.exchange_code', 'ignored', { code: 'abc' })).resolves.toEqual({
      userType: 'Location',
      companyId: null,
      locationIds: ['loc-a'],
    });
  });

  it('rejects an envelope whose locationId disagrees with its subject', async () => {
    await serve('session.start', '*', async () => ({ state: 'starting', workerId: null }));
    const envelope = createCommand('session.start', 'locA', {});
    const reply = await bus.connection.nc.request(
      commandSubject('session.start', 'locB'),
      JSON.stringify(envelope),
      {
        timeout: 2_000,
      },
    );
    expect(reply.json()).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
  });

  it('delivers each request to one member of a queue group', async () => {
    const calls: string[] = [];
    for (const worker of ['w1', 'w2']) {
      await serve(
        'session.start',
        '*',
        async () => {
          calls.push(worker);
          return { state: 'starting', workerId: worker };
        },
        { queue: 'session-start' },
      );
    }
    for (let i = 0; i < 10; i++) await caller.request('session.start', `loc${i}`, {});
    expect(calls).toHaveLength(10);
  });
});
