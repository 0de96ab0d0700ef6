import { eventSubject, type EventEnvelope, type EventPayload, type EventType } from '@app/contracts';
import { buildDeadLetter } from '@app/messaging';
import { eventually } from '@app/testing';
import { headers as natsHeaders } from 'nats';
import { ADMIN_KEY, ApiHarness } from './api-harness';

interface Entry {
  kind: string;
  stream: string;
  seq: number;
  storedAt: string;
  type: string;
  eventId: string | null;
  causationId: string | null;
  summary: string;
  detail: Record<string, unknown>;
}
interface DeadLetter {
  locationId: string;
}
/** A timeline page, a dead-letter page, or an error. */
interface Answer {
  entries: Entry[];
  deadLetters: DeadLetter[];
  next: string | number | null;
  code?: string;
  message?: string;
  details?: unknown[];
}

const A = 'locTimelineA01';
const B = 'locTimelineB01';
const QR_SECRET = '2@timeline-secret-qr-string,abc,def';
const MESSAGE_TEXT = 'a private message body';

/**
 * The operators' timeline: a location's session story read back from JetStream in stored order, with
 * the events published as the session worker and sync publish them, and a dead letter as the consumer
 * runner writes it. The api runs in-process against a private nats-server.
 */
describe('api: a location timeline from JetStream', () => {
  let api: ApiHarness;
  let keyA: string;
  let keyB: string;
  let story: EventEnvelope[];
  let between: number;
  let letterSeq = 9_000;

  async function publish<T extends EventType>(
    type: T,
    locationId: string,
    payload: EventPayload<T>,
    causedBy?: EventEnvelope,
  ): Promise<EventEnvelope<T>> {
    const meta = causedBy ? { causedBy } : {};
    return (await api.events.publish(type, locationId, payload, meta)).envelope;
  }

  async function deadLetter(event: EventEnvelope, reason: string): Promise<void> {
    const letter = buildDeadLetter({
      originalSubject: eventSubject(event.type, event.locationId),
      originalHeaders: [],
      consumer: 'sync-messages',
      stream: 'EVENTS',
      // The dead-letter id is derived from it: one per letter.
      streamSeq: (letterSeq += 1),
      deliveryCount: 20,
      kind: 'exhausted',
      reason,
      failedAt: new Date(),
      event: { id: event.id, type: event.type },
    });
    const hdrs = natsHeaders();
    for (const [key, value] of letter.headers) hdrs.append(key, value);
    await api.connection.js.publish(letter.subject, Buffer.from(JSON.stringify(event)), {
      msgID: letter.msgId,
      headers: hdrs,
    });
  }

  beforeAll(async () => {
    api = await ApiHarness.start({ API_RATE_LIMIT_PER_SECOND: '10000', API_RATE_LIMIT_BURST: '10000' });
    await api.install(A);
    await api.install(B);
    keyA = await api.apiKey('location', A);
    keyB = await api.apiKey('location', B);
    const worker = 'worker-1';
    const soon = () => new Date(Date.now() + 20_000).toISOString();
    const phone = '+15550001234';
    const contact = { phone: '+15557654321', jid: '15557654321@s.whatsapp.net', lid: null, pushName: 'Ann' };

    story = [];
    const add = async <T extends EventType>(
      type: T,
      payload: EventPayload<T>,
      causedBy?: EventEnvelope,
    ): Promise<EventEnvelope<T>> => {
      const event = await publish(type, A, payload, causedBy);
      story.push(event as EventEnvelope);
      // Another location's traffic interleaved: it must never show on A's timeline.
      await publish('session.state_changed', B, {
        state: 'reconnecting',
        previous: 'open',
        code: 428,
        reason: 'B only',
        workerId: worker,
      });
      return event;
    };

    await add('session.state_changed', {
      state: 'starting',
      previous: 'stopped',
      code: null,
      reason: 'start requested',
      workerId: worker,
    });
    await add('session.qr', { qr: QR_SECRET, attempt: 1, expiresAt: soon(), workerId: worker });
    await add('session.qr', { qr: `${QR_SECRET}-2`, attempt: 2, expiresAt: soon(), workerId: worker });
    await add('session.state_changed', {
      state: 'qr_timeout',
      previous: 'qr',
      code: 408,
      reason: 'nobody scanned the QR codes',
      workerId: worker,
    });
    await add('session.state_changed', {
      state: 'starting',
      previous: 'qr_timeout',
      code: null,
      reason: 'start requested',
      workerId: worker,
    });
    await add('session.qr', { qr: `${QR_SECRET}-3`, attempt: 1, expiresAt: soon(), workerId: worker });
    await add('session.ready', {
      phone,
      jid: '15550001234@s.whatsapp.net',
      lid: null,
      pushName: 'Shop',
      workerId: worker,
    });
    // Everything after this instant is the second half of the story (see the window test).
    between = Date.now();
    await eventually(() => expect(Date.now()).toBeGreaterThan(between + 1), { intervalMs: 1 });
    const inbound = await add('message.inbound', {
      waMessageId: '3EB0IN1',
      chatJid: contact.jid,
      from: contact,
      sentAt: new Date().toISOString(),
      content: { kind: 'text', text: MESSAGE_TEXT },
    });
    await add(
      'ghl.sync_result',
      {
        sourceEventId: inbound.id,
        sourceEventType: inbound.type,
        waMessageId: '3EB0IN1',
        ghlMessageId: 'ghlMsg1',
        outcome: 'applied',
        detail: null,
      },
      inbound,
    );
    await add('session.disconnected', {
      code: 428,
      reason: 'connection closed',
      willReconnect: true,
      reconnectInMs: 2_000,
      workerId: worker,
    });
    await add('session.state_changed', {
      state: 'reconnecting',
      previous: 'open',
      code: 428,
      reason: 'connection closed',
      workerId: worker,
    });
    await add('session.ready', {
      phone,
      jid: '15550001234@s.whatsapp.net',
      lid: null,
      pushName: 'Shop',
      workerId: worker,
    });
    const outbound = await add('message.outbound', {
      waMessageId: '3EB0OUT1',
      chatJid: contact.jid,
      to: contact,
      sentAt: new Date().toISOString(),
      content: { kind: 'text', text: MESSAGE_TEXT },
      origin: 'phone',
      clientMessageId: null,
    });
    await add(
      'ghl.sync_result',
      {
        sourceEventId: outbound.id,
        sourceEventType: outbound.type,
        waMessageId: '3EB0OUT1',
        ghlMessageId: null,
        outcome: 'failed',
        detail: 'GHL refused (422)',
      },
      outbound,
    );
    await deadLetter(outbound, 'gave up after 20 deliveries: GHL answered 503');
    await add('ghl.token_refreshed', { resource: 'location', expiresAt: soon() });
    await deadLetter(
      await publish('message.inbound', B, { ...inbound.payload, waMessageId: '3EB0B' }),
      'B only',
    );
  }, 60_000);

  afterAll(async () => {
    await api?.stop();
  });

  const timeline = (query: string, token: string | null = ADMIN_KEY) =>
    api.request<Answer>('GET', `/api/locations/${A}/events${query}`, { token });

  it('tells the whole session story in stored order: QR codes and their expiry, ready, disconnects with code and decision, messages with their GHL outcome, token refresh, dead letter', async () => {
    const res = await timeline('');
    expect(res.status).toBe(200);
    const entries = res.body.entries;
    const expectedTypes: string[] = story.map((e) => e.type);
    // The dead letter was stored right after the failed result.
    expectedTypes.splice(expectedTypes.indexOf('ghl.token_refreshed'), 0, 'dead_letter');
    expect(entries.map((e) => e.type)).toEqual(expectedTypes);
    expect(entries.filter((e) => e.kind === 'event').map((e) => e.eventId)).toEqual(story.map((e) => e.id));
    const storedTimes = entries.map((e) => Date.parse(e.storedAt));
    expect(storedTimes).toEqual([...storedTimes].sort((x, y) => x - y));
    expect(res.body.next).toBeNull();

    const byType = (type: string) => entries.filter((e) => e.type === type);
    expect(byType('session.qr').map((e) => e.detail.attempt)).toEqual([1, 2, 1]);
    expect(byType('session.state_changed')[1]).toMatchObject({
      detail: { state: 'qr_timeout', previous: 'qr', code: 408 },
      summary: expect.stringContaining('qr_timeout'),
    });
    expect(byType('session.disconnected')[0]).toMatchObject({
      detail: { code: 428, reason: 'connection closed', willReconnect: true, reconnectInMs: 2_000 },
      summary: expect.stringMatching(/428.*reconnecting in 2 s/),
    });
    const [applied, failed] = byType('ghl.sync_result');
    expect(applied).toMatchObject({
      causationId: story.find((e) => e.type === 'message.inbound')?.id,
      detail: { outcome: 'applied', ghlMessageId: 'ghlMsg1' },
      summary: expect.stringContaining('Written to GoHighLevel'),
    });
    expect(failed).toMatchObject({ detail: { outcome: 'failed', detail: 'GHL refused (422)' } });
    expect(byType('dead_letter')[0]).toMatchObject({
      stream: 'DLQ',
      eventId: story.find((e) => e.type === 'message.outbound')?.id,
      detail: {
        eventType: 'message.outbound',
        errorKind: 'exhausted',
        consumer: 'sync-messages',
        deliveryCount: 20,
      },
      summary: expect.stringContaining('GHL answered 503'),
    });
    expect(byType('ghl.token_refreshed')).toHaveLength(1);
    // No secret and no message text, and nothing of location B.
    expect(res.text).not.toContain(QR_SECRET);
    expect(res.text).not.toContain(MESSAGE_TEXT);
    expect(res.text).not.toContain('B only');
  });

  it('pages through the same story with limit and next', async () => {
    const full = (await timeline('')).body.entries;
    const paged: Entry[] = [];
    let next: string | number | null = null;
    let pages = 0;
    do {
      const res = await timeline(`?limit=4${next ? `&cursor=${encodeURIComponent(next)}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.entries.length).toBeLessThanOrEqual(4);
      paged.push(...res.body.entries);
      next = res.body.next;
      pages += 1;
    } while (next && pages < 20);
    expect(paged.map((e) => `${e.stream}#${e.seq}`)).toEqual(full.map((e) => `${e.stream}#${e.seq}`));
    expect(pages).toBe(Math.ceil(full.length / 4));
  });

  it('selects by types and by time window', async () => {
    const picked = await timeline('?types=session.disconnected,dead_letter');
    expect(picked.body.entries.map((e) => e.type)).toEqual(['session.disconnected', 'dead_letter']);
    const one = await timeline('?types=ghl.token_refreshed');
    expect(one.body.entries.map((e) => e.type)).toEqual(['ghl.token_refreshed']);

    const since = new Date(between + 1).toISOString();
    const secondHalf = await timeline(`?since=${since}`);
    expect(secondHalf.body.entries[0]).toMatchObject({ type: 'message.inbound' });
    const firstHalf = await timeline(`?until=${new Date(between).toISOString()}`);
    expect(firstHalf.body.entries.map((e) => e.type).at(-1)).toBe('session.ready');
    expect(firstHalf.body.entries.length + secondHalf.body.entries.length).toBe(story.length + 1);
    expect((await timeline(`?since=${new Date(Date.now() + 60_000).toISOString()}`)).body.entries).toEqual(
      [],
    );
  });

  it('answers bad queries with 400 naming each bad field', async () => {
    const cases: [string, string | RegExp][] = [
      ['?since=yesterday', /query\.since: must be an ISO 8601 time/],
      ['?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z', /query\.since: must not be after until/],
      ['?types=session.qr,nonsense', /unknown type\(s\) "nonsense"; known: session\.qr/],
      ['?limit=0', /query\.limit/],
      ['?limit=501', /query\.limit/],
      ['?from=2026-01-01T00:00:00Z', /query: Unrecognized key/i],
    ];
    for (const [query, message] of cases) {
      const res = await timeline(query);
      expect([res.status, res.body.code]).toEqual([400, 'invalid_request']);
      expect(res.body.message).toMatch(message);
      expect(res.body.details?.length).toBeGreaterThan(0);
    }
    const cursor = await timeline('?cursor=not-a-cursor');
    expect([cursor.status, cursor.body.code]).toEqual([400, 'invalid_cursor']);
  });

  it('is for operator keys only, each reaching its own location', async () => {
    expect((await timeline('', keyA)).status).toBe(200);
    const dashboard = await timeline('', await api.devSession(A));
    expect([dashboard.status, dashboard.body.code]).toEqual([403, 'operator_required']);
    const other = await timeline('', keyB);
    expect([other.status, other.body.code]).toEqual([403, 'forbidden_location']);
    expect((await timeline('', null)).status).toBe(401);
  });

  it('lists dead letters with their reasons per location (operator) and all of them (admin)', async () => {
    const own = await api.request<Answer>('GET', `/api/locations/${A}/dead-letters`, { token: keyA });
    expect(own.status).toBe(200);
    expect(own.body.deadLetters).toEqual([
      expect.objectContaining({
        locationId: A,
        eventType: 'message.outbound',
        errorKind: 'exhausted',
        reason: 'gave up after 20 deliveries: GHL answered 503',
        consumer: 'sync-messages',
        deliveryCount: 20,
      }),
    ]);
    const all = await api.request<Answer>('GET', '/api/dead-letters?limit=1', { token: ADMIN_KEY });
    expect(all.body.deadLetters.map((l) => l.locationId)).toEqual([A]);
    const rest = await api.request<Answer>('GET', `/api/dead-letters?cursor=${all.body.next}`, {
      token: ADMIN_KEY,
    });
    expect(rest.body).toMatchObject({
      deadLetters: [expect.objectContaining({ locationId: B })],
      next: null,
    });
    const forbidden = await api.request<Answer>('GET', '/api/dead-letters', { token: keyA });
    expect([forbidden.status, forbidden.body.code]).toEqual([403, 'admin_required']);
  });

  it("serves the operators' view, never framed", async () => {
    const page = await fetch(`${api.url}/app/operator?locationId=${A}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).toContain('<script src="/app/operator.js" defer></script>');
    expect(html).toContain(`value="${A}"`);
    const script = await fetch(`${api.url}/app/operator.js`);
    expect(await script.text()).toContain('/events?');
  });
});
