import { eventSubject, REPLAY_HEADERS, type EventEnvelope } from '@app/contracts';
import { eventually } from '@app/testing';
import { headers as natsHeaders } from 'nats';
import { buildDeadLetter } from '../src/dead-letter';
import { DeadLetterError, DeadLetterStore, REDRIVEN_FROM_HEADER } from '../src/dead-letter-store';
import { EventBus } from '../src/event-bus';
import { readStream, type StoredMessage } from '../src/stream-reader';
import { STREAMS } from '../src/topology';
import { BusHarness, startBus } from './bus-harness';
import { bytes, statusPayload } from './fixtures';

describe('reading streams by time, and the dead-letter store (real nats-server)', () => {
  let bus: BusHarness;
  let events: EventBus;
  let store: DeadLetterStore;
  let letterSeq = 0;

  beforeAll(async () => {
    bus = await startBus();
    events = new EventBus(bus.connection, bus.logger);
    store = new DeadLetterStore(bus.connection);
  });
  afterAll(() => bus.close());

  async function read(window: Parameters<typeof readStream>[1]): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    for await (const stored of readStream(bus.connection, window)) out.push(stored);
    return out;
  }

  /** Dead-letters `raw` (an envelope or any bytes) from `subject`, as the consumer runner does. */
  async function deadLetter(subject: string, raw: EventEnvelope | string): Promise<number> {
    letterSeq += 1;
    const letter = buildDeadLetter({
      originalSubject: subject,
      originalHeaders: [
        ['Nats-Msg-Id', [typeof raw === 'string' ? 'x' : raw.id]],
        ['traceparent', ['00-trace-01']],
        [REPLAY_HEADERS.run, ['rOldRun']],
      ],
      consumer: 'sync-messages',
      stream: STREAMS.events,
      streamSeq: letterSeq,
      deliveryCount: 3,
      kind: typeof raw === 'string' ? 'invalid' : 'exhausted',
      reason: 'GHL answered 503',
      failedAt: new Date(),
      event: typeof raw === 'string' ? undefined : { id: raw.id, type: raw.type },
    });
    const hdrs = natsHeaders();
    for (const [key, value] of letter.headers) hdrs.append(key, value);
    const ack = await bus.connection.js.publish(letter.subject, bytes(raw), {
      msgID: letter.msgId,
      headers: hdrs,
    });
    return ack.seq;
  }

  it("reads a location's window in stream order by time or by sequence, and leaves no consumer behind", async () => {
    const first = await events.publish('message.status', 'locRead1', statusPayload({ waMessageId: 'r1' }));
    await events.publish('message.status', 'locOther', statusPayload({ waMessageId: 'other' }));
    const second = await events.publish('message.status', 'locRead1', statusPayload({ waMessageId: 'r2' }));
    const mark = Date.now();
    await eventually(() => expect(Date.now()).toBeGreaterThan(mark + 1), { intervalMs: 1 });
    const third = await events.publish('message.status', 'locRead1', statusPayload({ waMessageId: 'r3' }));

    const all = await read({ stream: STREAMS.events, filterSubject: 'evt.locRead1.>', since: new Date(0) });
    expect(all.map((m) => m.seq)).toEqual([first.seq, second.seq, third.seq]);
    const before = await read({
      stream: STREAMS.events,
      filterSubject: 'evt.locRead1.>',
      until: new Date(mark),
    });
    expect(before.map((m) => m.seq)).toEqual([first.seq, second.seq]);
    const after = await read({
      stream: STREAMS.events,
      filterSubject: 'evt.locRead1.>',
      since: new Date(mark + 1),
    });
    expect(after.map((m) => m.seq)).toEqual([third.seq]);
    const fromSeq = await read({
      stream: STREAMS.events,
      filterSubject: 'evt.locRead1.>',
      fromSeq: second.seq,
    });
    expect(fromSeq.map((m) => m.seq)).toEqual([second.seq, third.seq]);
    expect(await read({ stream: STREAMS.events, filterSubject: 'evt.nobody.>' })).toEqual([]);

    const jsm = await bus.connection.jsm();
    expect((await jsm.consumers.list(STREAMS.events).next()).length).toBe(0);
  });

  it('lists dead letters of one location with their reasons', async () => {
    const event = (await events.publish('message.status', 'locDlqA', statusPayload())).envelope;
    const seqA = await deadLetter(eventSubject(event.type, event.locationId), event);
    await deadLetter(
      'evt.locDlqB.message.status',
      (await events.publish('message.status', 'locDlqB', statusPayload())).envelope,
    );
    const listed = [];
    for await (const entry of store.list({ locationId: 'locDlqA' })) listed.push(entry);
    expect(listed).toEqual([
      expect.objectContaining({
        seq: seqA,
        locationId: 'locDlqA',
        eventId: event.id,
        reason: 'GHL answered 503',
        errorKind: 'exhausted',
        deliveryCount: 3,
      }),
    ]);
  });

  it('redrives a dead letter inside the original id’s duplicate window, once, with the run’s headers, and removes it', async () => {
    const { envelope, seq: originalSeq } = await events.publish(
      'message.status',
      'locRedrive',
      statusPayload(),
    );
    const dlqSeq = await deadLetter(eventSubject(envelope.type, envelope.locationId), envelope);

    const result = await store.redrive(dlqSeq, { runId: 'rNewRun', key: `dlq:${dlqSeq}` });

    expect(result).toMatchObject({
      seq: dlqSeq,
      eventId: envelope.id,
      subject: 'evt.locRedrive.message.status',
    });
    expect(result.publishedSeq).toBeGreaterThan(originalSeq);
    const copies = await read({ stream: STREAMS.events, filterSubject: 'evt.locRedrive.>' });
    expect(copies.map((m) => m.seq)).toEqual([originalSeq, result.publishedSeq]);
    const copy = copies[1];
    expect(JSON.parse(Buffer.from(copy.data).toString())).toEqual(envelope);
    expect(copy.headers?.get(REDRIVEN_FROM_HEADER)).toBe(`DLQ:${dlqSeq}`);
    expect(copy.headers?.get('traceparent')).toBe('00-trace-01');
    expect(copy.headers?.values(REPLAY_HEADERS.run)).toEqual(['rNewRun']);
    expect(copy.headers?.get('Dlq-Reason')).toBe('');
    expect(await store.get(dlqSeq)).toBeNull();
    await expect(store.redrive(dlqSeq)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('refuses to redrive what is not an event of its subject', async () => {
    const seq = await deadLetter('evt.locBad.message.status', 'not json');
    await expect(store.redrive(seq)).rejects.toThrow(DeadLetterError);
    await expect(store.redrive(seq)).rejects.toThrow(/cannot be redriven: invalid JSON.*purge it instead/);
    expect(await store.get(seq)).not.toBeNull();
  });

  it("purges one location's dead letters and leaves the others", async () => {
    for (const location of ['locPurgeA', 'locPurgeA', 'locPurgeB']) {
      const { envelope } = await events.publish('message.status', location, statusPayload());
      await deadLetter(eventSubject(envelope.type, location), envelope);
    }
    expect(await store.purge('locPurgeA')).toBe(2);
    const left = async (locationId: string) => {
      let n = 0;
      for await (const entry of store.list({ locationId })) n += entry.seq > 0 ? 1 : 0;
      return n;
    };
    expect([await left('locPurgeA'), await left('locPurgeB')]).toEqual([0, 1]);
  });
});
