import {
  buildDeadLetter,
  DeadLetterInput,
  DLQ_HEADERS,
  fitDeadLetter,
  headersWireSize,
  readDeadLetter,
} from './dead-letter';

const input: DeadLetterInput = {
  originalSubject: 'evt.loc123.message.status',
  originalHeaders: [
    ['Nats-Msg-Id', ['env-1']],
    ['Nats-Expected-Stream', ['EVENTS']],
    ['traceparent', ['00-abc-def-01']],
    ['Dlq-Reason', ['stale from an earlier dead-lettering']],
  ],
  consumer: 'sync-status',
  stream: 'EVENTS',
  streamSeq: 42,
  deliveryCount: 5,
  kind: 'exhausted',
  reason: 'gave up\r\nafter 5',
  failedAt: new Date('2026-01-02T03:04:05.000Z'),
  event: { id: 'env-1', type: 'message.status' },
};

describe('buildDeadLetter', () => {
  const letter = buildDeadLetter(input);
  const header = (name: string) => letter.headers.filter(([k]) => k === name).map(([, v]) => v);

  it('targets dlq.<original subject>', () => {
    expect(letter.subject).toBe('dlq.evt.loc123.message.status');
  });

  it('derives the de-dup id from consumer, stream and sequence so a retry stores one copy', () => {
    expect(letter.msgId).toBe('dlq:sync-status:EVENTS:42');
    expect(buildDeadLetter({ ...input, failedAt: new Date(), reason: 'other' }).msgId).toBe(letter.msgId);
    expect(buildDeadLetter({ ...input, streamSeq: 43 }).msgId).not.toBe(letter.msgId);
  });

  it('records why, where and when it failed', () => {
    expect(header(DLQ_HEADERS.reason)).toEqual(['gave up after 5']);
    expect(header(DLQ_HEADERS.originalSubject)).toEqual(['evt.loc123.message.status']);
    expect(header(DLQ_HEADERS.deliveryCount)).toEqual(['5']);
    expect(header(DLQ_HEADERS.consumer)).toEqual(['sync-status']);
    expect(header(DLQ_HEADERS.stream)).toEqual(['EVENTS']);
    expect(header(DLQ_HEADERS.streamSeq)).toEqual(['42']);
    expect(header(DLQ_HEADERS.errorKind)).toEqual(['exhausted']);
    expect(header(DLQ_HEADERS.failedAt)).toEqual(['2026-01-02T03:04:05.000Z']);
    expect(header(DLQ_HEADERS.eventId)).toEqual(['env-1']);
    expect(header(DLQ_HEADERS.eventType)).toEqual(['message.status']);
  });

  it('copies the original headers except the server-reserved and stale dead-letter ones', () => {
    expect(header('traceparent')).toEqual(['00-abc-def-01']);
    expect(header('Nats-Msg-Id')).toEqual([]);
    expect(header('Nats-Expected-Stream')).toEqual([]);
    expect(header(DLQ_HEADERS.reason)).toHaveLength(1);
    expect(header(DLQ_HEADERS.originalMsgId)).toEqual(['env-1']);
  });

  it('omits the event headers when the message was not a valid envelope', () => {
    const invalid = buildDeadLetter({ ...input, event: undefined, kind: 'invalid', originalHeaders: [] });
    expect(invalid.headers.map(([k]) => k)).not.toContain(DLQ_HEADERS.eventId);
    expect(invalid.headers.map(([k]) => k)).not.toContain(DLQ_HEADERS.originalMsgId);
  });
});

describe('readDeadLetter', () => {
  const headersOf = (pairs: [string, string][]) => ({
    get: (name: string) => pairs.find(([k]) => k === name)?.[1] ?? '',
  });

  it('reads back what buildDeadLetter wrote', () => {
    const letter = buildDeadLetter(input);
    const storedAt = new Date('2026-01-02T03:04:06.000Z');
    expect(
      readDeadLetter({ seq: 7, subject: letter.subject, storedAt, headers: headersOf(letter.headers) }),
    ).toEqual({
      seq: 7,
      storedAt,
      originalSubject: 'evt.loc123.message.status',
      locationId: 'loc123',
      reason: 'gave up after 5',
      errorKind: 'exhausted',
      consumer: 'sync-status',
      deliveryCount: 5,
      originalStream: 'EVENTS',
      originalSeq: 42,
      failedAt: '2026-01-02T03:04:05.000Z',
      eventId: 'env-1',
      eventType: 'message.status',
    });
  });

  it('still lists a letter without headers, from its subject', () => {
    expect(
      readDeadLetter({
        seq: 1,
        subject: 'dlq.replay.locB.message.inbound',
        storedAt: new Date(0),
        headers: undefined,
      }),
    ).toMatchObject({
      originalSubject: 'replay.locB.message.inbound',
      locationId: 'locB',
      reason: 'no reason recorded',
      errorKind: 'unknown',
      deliveryCount: null,
      eventId: null,
    });
  });
});

describe('fitDeadLetter', () => {
  const letter = buildDeadLetter(input);
  const size = (fitted: { headers: [string, string][]; body: Uint8Array }) =>
    headersWireSize([...fitted.headers, ['Nats-Msg-Id', letter.msgId]]) + fitted.body.length;

  it('leaves a letter that fits as it is', () => {
    const body = Buffer.alloc(1_000, 'x');
    expect(fitDeadLetter(letter, body, 1024 * 1024)).toEqual({ headers: letter.headers, body });
  });

  it('cuts a body the headers push over max_payload, keeping its start and saying how long it was', () => {
    const maxPayload = 1024 * 1024;
    const body = Buffer.alloc(maxPayload - 50, 'y');
    body.write('start', 0);
    const fitted = fitDeadLetter(letter, body, maxPayload);
    expect(size(fitted)).toBeLessThanOrEqual(maxPayload);
    expect(fitted.headers).toContainEqual([DLQ_HEADERS.truncatedFrom, String(body.length)]);
    expect(Buffer.from(fitted.body).toString('utf8', 0, 5)).toBe('start');
    expect(fitted.body.length).toBeGreaterThan(maxPayload - 2_000);
  });

  it('counts headers as they go on the wire', () => {
    expect(headersWireSize([['A', 'b']])).toBe('NATS/1.0\r\nA: b\r\n\r\n'.length);
    expect(headersWireSize([['K', 'é']])).toBe('NATS/1.0\r\nK: é\r\n\r\n'.length + 1);
  });

  it('bounds a reason of any length', () => {
    const long = buildDeadLetter({ ...input, reason: 'r'.repeat(100_000) });
    const reason = long.headers.find(([k]) => k === DLQ_HEADERS.reason)?.[1] ?? '';
    expect(reason.length).toBeLessThanOrEqual(2_001);
    expect(reason.endsWith('…')).toBe(true);
  });
});
