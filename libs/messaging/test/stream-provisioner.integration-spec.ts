import { AckPolicy, nanos, StorageType } from 'nats';
import { StreamProvisioner } from '../src/stream-provisioner';
import { STREAMS } from '../src/topology';
import { BusHarness, startBus } from './bus-harness';

const DAY_MS = 86_400_000;

describe('StreamProvisioner (real nats-server)', () => {
  let bus: BusHarness;

  beforeAll(async () => {
    bus = await startBus({ provision: false });
  });
  afterAll(() => bus.close());

  it('creates the three streams once when several replicas provision at the same moment', async () => {
    const replicas = await Promise.all([bus.connect('r1'), bus.connect('r2'), bus.connect('r3')]);
    await Promise.all(replicas.map((c) => new StreamProvisioner(c, bus.logger).ensureStreams()));

    const jsm = await bus.connection.jsm();
    const names = (await jsm.streams.names().next()).sort();
    expect(names).toEqual(['DLQ', 'EVENTS', 'REPLAY']);
    const events = await jsm.streams.info(STREAMS.events);
    expect(events.config).toMatchObject({
      subjects: ['evt.>'],
      storage: StorageType.File,
      max_age: nanos(7 * DAY_MS),
      duplicate_window: nanos(120_000),
    });
    expect((await jsm.streams.info(STREAMS.deadLetters)).config).toMatchObject({
      subjects: ['dlq.>'],
      max_age: nanos(30 * DAY_MS),
    });
    expect((await jsm.streams.info(STREAMS.replay)).config).toMatchObject({
      subjects: ['replay.>'],
      max_age: nanos(DAY_MS),
    });
  });

  it('updates a stream whose config in code changed, and leaves a matching one alone', async () => {
    const jsm = await bus.connection.jsm();
    const changed = new StreamProvisioner(bus.connection, bus.logger, { eventsMaxAgeMs: 3 * DAY_MS });
    await changed.ensureStreams();
    expect((await jsm.streams.info(STREAMS.events)).config.max_age).toBe(nanos(3 * DAY_MS));
    const dlqBefore = await jsm.streams.info(STREAMS.deadLetters);
    await changed.ensureStreams();
    expect((await jsm.streams.info(STREAMS.deadLetters)).created).toBe(dlqBefore.created);
  });

  it('applies a new retention to an existing stream in place, keeping what it holds', async () => {
    const jsm = await bus.connection.jsm();
    const stored = await bus.connection.js.publish('dlq.evt.locRetention.message.status', 'kept', {
      msgID: 'retention-check',
    });
    const before = await jsm.streams.info(STREAMS.deadLetters);
    await new StreamProvisioner(bus.connection, bus.logger, {
      deadLettersMaxAgeMs: 45 * DAY_MS,
    }).ensureStreams();
    const after = await jsm.streams.info(STREAMS.deadLetters);
    expect(after.config.max_age).toBe(nanos(45 * DAY_MS));
    expect(after.created).toBe(before.created);
    expect((await jsm.streams.getMessage(STREAMS.deadLetters, { seq: stored.seq })).string()).toBe('kept');
  });

  it('creates a durable pull consumer idempotently under concurrency and updates it when the code changes', async () => {
    const def = { stream: STREAMS.events, durable: 'sync-status', filterSubject: 'evt.*.message.status' };
    const replicas = await Promise.all([bus.connect('c1'), bus.connect('c2'), bus.connect('c3')]);
    await Promise.all(replicas.map((c) => new StreamProvisioner(c, bus.logger).ensureConsumer(def)));

    const jsm = await bus.connection.jsm();
    const info = await jsm.consumers.info(STREAMS.events, 'sync-status');
    expect(info.config).toMatchObject({
      durable_name: 'sync-status',
      ack_policy: AckPolicy.Explicit,
      filter_subject: 'evt.*.message.status',
      max_deliver: 10,
      ack_wait: nanos(30_000),
      max_ack_pending: 1_000,
    });

    await bus.provisioner.ensureConsumer({ ...def, maxDeliver: 4, ackWaitMs: 5_000 });
    const updated = await jsm.consumers.info(STREAMS.events, 'sync-status');
    expect(updated.config).toMatchObject({ max_deliver: 4, ack_wait: nanos(5_000) });
  });

  it('refuses with a clear message to change what the server cannot change', async () => {
    const def = { stream: STREAMS.events, durable: 'immutable', filterSubject: 'evt.>' };
    await bus.provisioner.ensureConsumer(def);
    await expect(bus.provisioner.ensureConsumer({ ...def, deliverPolicy: 'new' })).rejects.toThrow(
      /consumer immutable on EVENTS exists with a different deliver_policy/,
    );
  });

  it('says which stream is missing when a consumer is declared on an unknown stream', async () => {
    await expect(
      bus.provisioner.ensureConsumer({ stream: 'NOPE', durable: 'x', filterSubject: 'nope.>' }),
    ).rejects.toThrow(/stream NOPE does not exist/);
  });
});
