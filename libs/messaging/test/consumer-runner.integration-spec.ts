import { EventEnvelope, eventSubject, replaySubject } from '@app/contracts';
import { eventually } from '@app/testing';
import { pino } from 'pino';
import { register } from 'prom-client';
import { ConsumerRunner, ConsumerRunnerOptions, HandlerContext } from '../src/consumer-runner';
import { DLQ_HEADERS } from '../src/dead-letter';
import { PermanentError } from '../src/errors/permanent.error';
import { TransientError } from '../src/errors/transient.error';
import { EventBus } from '../src/event-bus';
import { STREAMS } from '../src/topology';
import { BusHarness, startBus } from './bus-harness';
import { bytes, LOCATION, statusPayload } from './fixtures';

/**
 * Each test uses its own location token and durable consumer filtered on it, so tests share one
 * server without seeing each other's messages.
 */
describe('ConsumerRunner (real nats-server)', () => {
  let bus: BusHarness;
  let events: EventBus;
  const runners: ConsumerRunner[] = [];
  let n = 0;

  beforeAll(async () => {
    bus = await startBus();
    events = new EventBus(bus.connection, bus.logger);
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
  });
  afterAll(() => bus.close());

  function scope(): { location: string; durable: string } {
    n += 1;
    return { location: `${LOCATION}t${n}`, durable: `test-consumer-${n}` };
  }

  async function run(
    durable: string,
    location: string,
    options: Omit<ConsumerRunnerOptions, 'consumer'> & {
      consumer?: Partial<ConsumerRunnerOptions['consumer']>;
    },
  ): Promise<ConsumerRunner> {
    const runner = new ConsumerRunner(
      bus.connection,
      bus.provisioner,
      {
        ...options,
        consumer: {
          stream: STREAMS.events,
          durable,
          filterSubject: `evt.${location}.>`,
          ...options.consumer,
        },
      },
      bus.logger,
    );
    runners.push(runner);
    await runner.start();
    return runner;
  }

  async function consumerInfo(durable: string, stream: string = STREAMS.events) {
    const jsm = await bus.connection.jsm();
    return jsm.consumers.info(stream, durable);
  }

  async function deadLetters(subject: string) {
    return (await bus.readStream(STREAMS.deadLetters)).filter((m) => m.subject === `dlq.${subject}`);
  }

  async function metric(name: string, labels: Record<string, string>): Promise<number> {
    const metrics = await register.getSingleMetric(name)!.get();
    const value = metrics.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return value?.value ?? 0;
  }

  it('acks a handled event and hands the handler its delivery context', async () => {
    const { location, durable } = scope();
    const seen: { envelope: EventEnvelope; ctx: HandlerContext }[] = [];
    await run(durable, location, { handler: async (envelope, ctx) => void seen.push({ envelope, ctx }) });

    const { envelope, seq } = await events.publish('message.status', location, statusPayload());

    await eventually(() => expect(seen).toHaveLength(1));
    expect(seen[0].envelope).toEqual(envelope);
    expect(seen[0].ctx).toMatchObject({
      subject: eventSubject('message.status', location),
      stream: STREAMS.events,
      consumer: durable,
      deliveryCount: 1,
      streamSeq: seq,
      isFinalDelivery: false,
    });
    await eventually(async () => expect((await consumerInfo(durable)).num_ack_pending).toBe(0));
    expect(await metric('bus_messages_handled_total', { consumer: durable, outcome: 'ack' })).toBe(1);
  });

  it('retries a transiently failing handler with growing delays until it succeeds', async () => {
    const { location, durable } = scope();
    const deliveries: { at: number; count: number }[] = [];
    await run(durable, location, {
      backoffMs: [150, 300, 600],
      backoffJitter: 0,
      handler: async (_envelope, ctx) => {
        deliveries.push({ at: Date.now(), count: ctx.deliveryCount });
        if (ctx.deliveryCount < 4) throw new TransientError('GHL answered 503');
      },
    });

    await events.publish('message.status', location, statusPayload());

    await eventually(() => expect(deliveries).toHaveLength(4), { timeoutMs: 10_000 });
    expect(deliveries.map((d) => d.count)).toEqual([1, 2, 3, 4]);
    const gaps = deliveries.slice(1).map((d, i) => d.at - deliveries[i].at);
    expect(gaps[0]).toBeGreaterThanOrEqual(140);
    expect(gaps[1]).toBeGreaterThan(gaps[0] + 100);
    expect(gaps[2]).toBeGreaterThan(gaps[1] + 200);
    await eventually(async () => expect((await consumerInfo(durable)).num_ack_pending).toBe(0));
    expect(await deadLetters(eventSubject('message.status', location))).toHaveLength(0);
  });

  it('honours retryAfterMs from the handler over the backoff list', async () => {
    const { location, durable } = scope();
    const at: number[] = [];
    await run(durable, location, {
      backoffMs: [5_000],
      handler: async () => {
        at.push(Date.now());
        if (at.length === 1) throw new TransientError('429', { retryAfterMs: 100 });
      },
    });
    await events.publish('message.status', location, statusPayload());
    await eventually(() => expect(at).toHaveLength(2), { timeoutMs: 4_000 });
    expect(at[1] - at[0]).toBeLessThan(2_000);
  });

  it('logs the retry of a failure at warn and that of a planned wait (retryAfterMs) at debug', async () => {
    const { location, durable } = scope();
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    let calls = 0;
    const runner = new ConsumerRunner(
      bus.connection,
      bus.provisioner,
      {
        consumer: { stream: STREAMS.events, durable, filterSubject: `evt.${location}.>` },
        handler: async () => {
          calls += 1;
          if (calls === 1) throw new TransientError('GHL answered 503');
          if (calls === 2) throw new TransientError('no rate-limit slot yet', { retryAfterMs: 50 });
        },
      },
      logger,
    );
    runners.push(runner);
    await runner.start();
    await events.publish('message.status', location, statusPayload());
    await eventually(() => expect(calls).toBe(3), { timeoutMs: 5_000 });
    // The first retry waits the default backoff (100 ms), the planned one 50 ms.
    const retries = lines.filter((l) => /retry/.test(l.msg));
    expect(retries.map((l) => [l.level, l.msg])).toEqual([
      [40, 'handler failed; will retry'],
      [20, 'handler asked to retry later'],
    ]);
  });

  it('dead-letters a poison message after max deliveries, with its reason in headers, while later messages are handled', async () => {
    const { location, durable } = scope();
    const handled: string[] = [];
    let poisonAttempts = 0;
    await run(durable, location, {
      consumer: { maxDeliver: 3 },
      backoffMs: [100],
      handler: async (envelope) => {
        if (envelope.type === 'message.status' && envelope.payload.waMessageId === 'poison') {
          poisonAttempts += 1;
          throw new Error('cannot map this status');
        }
        handled.push(envelope.id);
      },
    });

    const poison = await events.publish('message.status', location, statusPayload({ waMessageId: 'poison' }));
    const later = await Promise.all(
      [1, 2, 3].map((i) =>
        events.publish('message.status', location, statusPayload({ waMessageId: `ok-${i}` })),
      ),
    );

    const subject = eventSubject('message.status', location);
    await eventually(async () => expect(await deadLetters(subject)).toHaveLength(1), { timeoutMs: 10_000 });
    expect(handled.sort()).toEqual(later.map((r) => r.envelope.id).sort());
    expect(poisonAttempts).toBe(3);
    const [letter] = await deadLetters(subject);
    expect(letter.json()).toEqual(poison.envelope);
    expect(letter.header.get(DLQ_HEADERS.reason)).toBe(
      'gave up after 3 deliveries: Error: cannot map this status',
    );
    expect(letter.header.get(DLQ_HEADERS.originalSubject)).toBe(subject);
    expect(letter.header.get(DLQ_HEADERS.deliveryCount)).toBe('3');
    expect(letter.header.get(DLQ_HEADERS.errorKind)).toBe('exhausted');
    expect(letter.header.get(DLQ_HEADERS.consumer)).toBe(durable);
    expect(letter.header.get(DLQ_HEADERS.stream)).toBe(STREAMS.events);
    expect(letter.header.get(DLQ_HEADERS.streamSeq)).toBe(String(poison.seq));
    expect(letter.header.get(DLQ_HEADERS.eventId)).toBe(poison.envelope.id);
    expect(Date.parse(letter.header.get(DLQ_HEADERS.failedAt))).not.toBeNaN();
    await eventually(async () => expect((await consumerInfo(durable)).num_ack_pending).toBe(0));
    expect(await metric('bus_messages_handled_total', { consumer: durable, outcome: 'dead_lettered' })).toBe(
      1,
    );
    expect(await metric('bus_dead_letters_total', { consumer: durable, kind: 'exhausted' })).toBe(1);
  });

  it('terminates an invalid message without retry and records it in the DLQ, then goes on', async () => {
    const { location, durable } = scope();
    const handled: string[] = [];
    await run(durable, location, { handler: async (envelope) => void handled.push(envelope.id) });

    const subject = eventSubject('message.status', location);
    const js = bus.connection.js;
    await js.publish(subject, bytes('{"not": json'), { msgID: 'garbage-1' });
    const wrongPayload = { ...(await validEnvelope(location)), payload: { status: 'teleported' } };
    await js.publish(subject, bytes(wrongPayload), { msgID: 'garbage-2' });
    const good = await events.publish('message.status', location, statusPayload());

    await eventually(() => expect(handled).toEqual([good.envelope.id]));
    await eventually(async () => expect(await deadLetters(subject)).toHaveLength(2));
    const letters = await deadLetters(subject);
    expect(letters.map((l) => l.header.get(DLQ_HEADERS.errorKind))).toEqual(['invalid', 'invalid']);
    expect(letters.map((l) => l.header.get(DLQ_HEADERS.deliveryCount))).toEqual(['1', '1']);
    expect(letters[0].header.get(DLQ_HEADERS.reason)).toMatch(/^invalid JSON/);
    expect(letters[0].string()).toBe('{"not": json');
    expect(letters[1].header.get(DLQ_HEADERS.reason)).toMatch(/payload\.waMessageId/);
    expect(letters[1].header.get(DLQ_HEADERS.originalMsgId)).toBe('garbage-2');
    const info = await consumerInfo(durable);
    expect(info.num_redelivered).toBe(0);
    await eventually(async () => expect((await consumerInfo(durable)).num_ack_pending).toBe(0));
    expect(await metric('bus_messages_handled_total', { consumer: durable, outcome: 'term_invalid' })).toBe(
      2,
    );
  });

  it('dead-letters an invalid message as large as the server takes, though its dead-letter headers would not fit', async () => {
    const { location, durable } = scope();
    const handled: string[] = [];
    await run(durable, location, { handler: async (envelope) => void handled.push(envelope.id) });

    const subject = eventSubject('message.status', location);
    // Found by the bad-input suite (test/fuzz): the server's max_payload counts headers and body, so a
    // body that just fits cannot be copied with the Dlq-* headers added.
    const maxPayload = bus.connection.nc.info!.max_payload;
    const huge = Buffer.alloc(maxPayload - 100, 'x');
    await bus.connection.js.publish(subject, huge, { msgID: 'huge-1' });
    const good = await events.publish('message.status', location, statusPayload());

    await eventually(() => expect(handled).toEqual([good.envelope.id]));
    const [letter] = await eventually(async () => {
      const letters = await deadLetters(subject);
      expect(letters).toHaveLength(1);
      return letters;
    });
    expect(letter.header.get(DLQ_HEADERS.errorKind)).toBe('invalid');
    expect(letter.header.get(DLQ_HEADERS.reason)).toMatch(/^invalid JSON/);
    expect(letter.header.get(DLQ_HEADERS.truncatedFrom)).toBe(String(huge.length));
    expect(letter.data.length).toBeLessThan(huge.length);
    expect(Buffer.from(letter.data).equals(huge.subarray(0, letter.data.length))).toBe(true);
    await eventually(async () => expect((await consumerInfo(durable)).num_ack_pending).toBe(0));
  });

  it('dead-letters a PermanentError on its first delivery', async () => {
    const { location, durable } = scope();
    let calls = 0;
    await run(durable, location, {
      handler: async () => {
        calls += 1;
        throw new PermanentError('contact does not exist', 'GHL 404');
      },
    });
    await events.publish('message.status', location, statusPayload());
    const subject = eventSubject('message.status', location);
    await eventually(async () => expect(await deadLetters(subject)).toHaveLength(1));
    const [letter] = await deadLetters(subject);
    expect(letter.header.get(DLQ_HEADERS.errorKind)).toBe('permanent');
    expect(letter.header.get(DLQ_HEADERS.reason)).toBe('PermanentError: contact does not exist (GHL 404)');
    expect(letter.header.get(DLQ_HEADERS.deliveryCount)).toBe('1');
    expect(calls).toBe(1);
  });

  it('keeps per-key order while different keys run in parallel', async () => {
    const { location, durable } = scope();
    const seen = new Map<string, number[]>();
    let running = 0;
    let maxRunning = 0;
    await run(durable, location, {
      concurrency: 8,
      orderingKey: (envelope) => (envelope.type === 'message.status' ? envelope.payload.chatJid : undefined),
      handler: async (envelope) => {
        if (envelope.type !== 'message.status') return;
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        // Uneven work so that, without the key, later messages would overtake earlier ones.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 8));
        running -= 1;
        const list = seen.get(envelope.payload.chatJid) ?? [];
        list.push(Number(envelope.payload.waMessageId));
        seen.set(envelope.payload.chatJid, list);
      },
    });

    const chats = ['a@s.whatsapp.net', 'b@s.whatsapp.net', 'c@s.whatsapp.net', 'd@s.whatsapp.net'];
    const perChat = 25;
    for (let i = 0; i < perChat; i++) {
      await Promise.all(
        chats.map((chatJid) =>
          events.publish('message.status', location, statusPayload({ chatJid, waMessageId: String(i) })),
        ),
      );
    }

    await eventually(() => expect([...seen.values()].flat()).toHaveLength(chats.length * perChat), {
      timeoutMs: 15_000,
    });
    const ascending = Array.from({ length: perChat }, (_, i) => i);
    for (const chat of chats) expect(seen.get(chat)).toEqual(ascending);
    expect(maxRunning).toBeGreaterThan(1);
  });

  it('keeps a message alive past ack_wait while its handler reports working() or it waits for its key', async () => {
    const { location, durable } = scope();
    const deliveries: { id: string; count: number }[] = [];
    await run(durable, location, {
      consumer: { ackWaitMs: 1_000 },
      concurrency: 2,
      orderingKey: () => 'one-chat',
      handler: async (envelope, ctx) => {
        deliveries.push({ id: envelope.id, count: ctx.deliveryCount });
        if (deliveries.length > 1) return;
        // Three ack_waits of work, reported every 300 ms.
        for (let elapsed = 0; elapsed < 3_000; elapsed += 300) {
          ctx.working();
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      },
    });
    const first = await events.publish('message.status', location, statusPayload());
    const second = await events.publish('message.status', location, statusPayload({ waMessageId: 'queued' }));

    await eventually(() => expect(deliveries).toHaveLength(2), { timeoutMs: 8_000 });
    expect(deliveries).toEqual([
      { id: first.envelope.id, count: 1 },
      { id: second.envelope.id, count: 1 },
    ]);
    await eventually(async () => expect((await consumerInfo(durable)).num_ack_pending).toBe(0));
    expect((await consumerInfo(durable)).num_redelivered).toBe(0);
  }, 15_000);

  it('binds to the REPLAY stream with the same policy', async () => {
    const { location, durable } = scope();
    const seen: HandlerContext[] = [];
    await run(durable, location, {
      consumer: { stream: STREAMS.replay, filterSubject: `replay.${location}.>` },
      handler: async (_envelope, ctx) => void seen.push(ctx),
    });
    const { envelope } = await events.publish('message.status', location, statusPayload());
    await events.publishEnvelope(envelope, replaySubject('message.status', location), {
      msgId: `replay:${envelope.id}`,
    });
    await bus.connection.js.publish(replaySubject('message.status', location), bytes('nope'), {
      msgID: 'bad-replay',
    });

    await eventually(() => expect(seen).toHaveLength(1));
    expect(seen[0]).toMatchObject({ stream: STREAMS.replay, subject: `replay.${location}.message.status` });
    await eventually(async () =>
      expect(await deadLetters(`replay.${location}.message.status`)).toHaveLength(1),
    );
  });

  it('re-creates its durable consumer when it is deleted under it, and keeps consuming', async () => {
    const { location, durable } = scope();
    const handled: string[] = [];
    await run(durable, location, {
      handler: async (envelope) => void handled.push(envelope.id),
      pullExpiresMs: 2_000,
      restartDelaysMs: [100],
    });
    const first = await events.publish('message.status', location, statusPayload());
    await eventually(() => expect(handled).toContain(first.envelope.id));

    const jsm = await bus.connection.jsm();
    await jsm.consumers.delete(STREAMS.events, durable);
    const second = await events.publish(
      'message.status',
      location,
      statusPayload({ waMessageId: 'after-delete' }),
    );

    await eventually(() => expect(handled).toContain(second.envelope.id), { timeoutMs: 15_000 });
    expect((await consumerInfo(durable)).config.filter_subject).toBe(`evt.${location}.>`);
    expect(await metric('bus_consumer_restarts_total', { consumer: durable })).toBeGreaterThanOrEqual(1);
  });

  it('stop() waits for the handler in flight, acks it, and hands back what it had not started', async () => {
    const { location, durable } = scope();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    const runner = await run(durable, location, {
      handler: async (envelope) => {
        started.push(envelope.id);
        await gate;
      },
    });
    const first = await events.publish('message.status', location, statusPayload());
    await eventually(() => expect(started).toEqual([first.envelope.id]));
    const second = await events.publish(
      'message.status',
      location,
      statusPayload({ waMessageId: 'after-stop' }),
    );
    // Both are now out to this runner: one running, one buffered behind it.
    await eventually(async () => expect((await consumerInfo(durable)).num_ack_pending).toBe(2));

    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    expect(runner.running).toBe(false);
    await consumerInfo(durable);
    expect(stopped).toBe(false);
    release();
    await stopping;

    expect(started).toEqual([first.envelope.id]);
    // The server applies acks on the consumer's own path, not in order with API requests: poll.
    await eventually(async () => expect((await consumerInfo(durable)).ack_floor.stream_seq).toBe(first.seq));
    // The buffered message was nak'ed, so a successor gets it now rather than after ack_wait (30 s).
    const successor: string[] = [];
    await run(durable, location, { handler: async (envelope) => void successor.push(envelope.id) });
    await eventually(() => expect(successor).toEqual([second.envelope.id]), { timeoutMs: 5_000 });
  });

  it('waits at start() for a JetStream that does not answer yet, then consumes', async () => {
    const { location, durable } = scope();
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const handled: string[] = [];
    const runner = new ConsumerRunner(
      bus.connection,
      bus.provisioner,
      {
        consumer: { stream: STREAMS.events, durable, filterSubject: `evt.${location}.>` },
        restartDelaysMs: [200],
        handler: async (envelope) => void handled.push(envelope.id),
      },
      logger,
    );
    runners.push(runner);

    await bus.server.down();
    let starting: Promise<void>;
    try {
      starting = runner.start();
      await eventually(() => expect(warnings.join('')).toMatch(/JetStream unavailable, retrying/), {
        timeoutMs: 15_000,
      });
    } finally {
      await bus.server.up();
    }
    await starting;
    const { envelope } = await eventually(() => events.publish('message.status', location, statusPayload()), {
      timeoutMs: 10_000,
    });
    await eventually(() => expect(handled).toEqual([envelope.id]), { timeoutMs: 10_000 });
  }, 40_000);

  async function validEnvelope(location: string) {
    const { envelope } = await events.publish('message.status', `${location}x`, statusPayload());
    return { ...envelope, locationId: location };
  }
});
