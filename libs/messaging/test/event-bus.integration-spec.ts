import { ContractViolation, createEvent, EventPayload, eventSubject, replaySubject } from '@app/contracts';
import { BusUnavailableError } from '../src/errors/bus-unavailable.error';
import { EventBus } from '../src/event-bus';
import { STREAMS } from '../src/topology';
import { BusHarness, startBus } from './bus-harness';
import { LOCATION, statusPayload } from './fixtures';

describe('EventBus (real nats-server)', () => {
  let bus: BusHarness;
  let events: EventBus;

  beforeAll(async () => {
    bus = await startBus();
    events = new EventBus(bus.connection, bus.logger, { publishTimeoutMs: 1_000 });
  });
  afterAll(() => bus.close());

  it('stores an event once when the same envelope id is published twice, and says the second was a duplicate', async () => {
    const meta = { id: 'wa-msg-dedup-1' };
    const first = await events.publish('message.status', LOCATION, statusPayload(), meta);
    const second = await events.publish('message.status', LOCATION, statusPayload(), meta);

    expect(first).toMatchObject({ duplicate: false, stream: STREAMS.events });
    expect(second).toMatchObject({ duplicate: true, seq: first.seq });
    const stored = (await bus.readStream(STREAMS.events)).filter(
      (m) => m.header.get('Nats-Msg-Id') === meta.id,
    );
    expect(stored).toHaveLength(1);
    expect(stored[0].subject).toBe(eventSubject('message.status', LOCATION));
    expect(stored[0].json()).toEqual(first.envelope);
  });

  it('throws ContractViolation for a bad payload and sends nothing', async () => {
    const jsm = await bus.connection.jsm();
    const before = (await jsm.streams.info(STREAMS.events)).state.messages;
    const bad = { ...statusPayload(), status: 'teleported' } as unknown as EventPayload<'message.status'>;

    await expect(events.publish('message.status', LOCATION, bad)).rejects.toThrow(ContractViolation);
    await expect(events.publish('message.status', 'bad.location', statusPayload())).rejects.toThrow(
      ContractViolation,
    );
    expect((await jsm.streams.info(STREAMS.events)).state.messages).toBe(before);
  });

  it('forwards an existing envelope to the replay stream, with its own de-dup id when asked', async () => {
    const envelope = createEvent('message.status', LOCATION, statusPayload({ waMessageId: 'replayed' }));
    const first = await events.publishEnvelope(envelope, replaySubject('message.status', LOCATION), {
      msgId: 'replay-run-1:' + envelope.id,
    });
    const again = await events.publishEnvelope(envelope, replaySubject('message.status', LOCATION), {
      msgId: 'replay-run-2:' + envelope.id,
    });
    expect(first).toMatchObject({ stream: STREAMS.replay, duplicate: false });
    expect(again).toMatchObject({ stream: STREAMS.replay, duplicate: false });
    expect(again.seq).toBe(first.seq + 1);
  });

  it('re-validates an envelope it is asked to forward', async () => {
    const envelope = createEvent('message.status', LOCATION, statusPayload());
    const tampered = { ...envelope, payload: { ...envelope.payload, at: 'yesterday' } };
    await expect(events.publishEnvelope(tampered)).rejects.toThrow(/payload\.at/);
  });

  it('rejects with BusUnavailableError within the publish timeout while the server is down', async () => {
    await bus.server.down();
    try {
      const started = Date.now();
      const attempt = events.publish('message.status', LOCATION, statusPayload());
      await expect(attempt).rejects.toBeInstanceOf(BusUnavailableError);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await bus.server.up();
    }
  });
});
