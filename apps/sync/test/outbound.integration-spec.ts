import type { CommandEnvelope, EventEnvelope, EventPayload } from '@app/contracts';
import { CommandError, type CommandSubscription } from '@app/messaging';
import { eventually } from '@app/testing';
import { register } from 'prom-client';
import { inboundText, newPhone, startSyncTestKit, uniqueId, type SyncTestKit } from './sync-test-kit';

/**
 * GHL → WhatsApp: a provider message (put on the bus by the api, played here by the test) becomes a
 * `session.send` command to the session's owner (played by the test), and real receipts become GHL
 * statuses.
 */
describe('sync: GHL outbound messages and receipts', () => {
  let kit: SyncTestKit;
  const subscriptions: CommandSubscription[] = [];

  beforeAll(async () => {
    // GHL refuses status updates for a while after a message (403); short here, retried by the sync.
    kit = await startSyncTestKit({ sandbox: { statusUpdateDelaySeconds: 0.5 } });
    await kit.startSync({ SYNC_MAX_DELIVER: '4' });
  }, 60_000);

  afterAll(async () => {
    for (const sub of subscriptions) await sub.unsubscribe();
    await kit?.close();
  });

  afterEach(async () => {
    expect(await kit.schemaViolations()).toEqual([]);
  });

  const naks = async (consumer: string) =>
    (await register.getSingleMetric('bus_messages_handled_total')?.get())?.values.find(
      (v) => v.labels.consumer === consumer && v.labels.outcome === 'nak',
    )?.value ?? 0;

  /** A chat that exists on both sides: the contact wrote first, so GHL has the contact. */
  async function chat() {
    const { location } = await kit.installedLocation();
    const phone = newPhone();
    const first = await kit.publish('message.inbound', location.id, inboundText(phone, 'hi, I need help'));
    await eventually(() => expect(kit.results(first.id)).toHaveLength(1), { timeoutMs: 10_000 });
    const [contact] = await kit.admin.contacts({ locationId: location.id });
    return { location, phone, contact };
  }

  /** A GHL user replies: GHL stores the message and calls the delivery URL; the api publishes this. */
  async function ghlReply(locationId: string, contactId: string, phone: string | null, text: string) {
    const { message } = await kit.admin.simulateUserMessage({
      locationId,
      contactId,
      message: text,
      conversationProviderId: kit.provider.id,
    });
    const payload: EventPayload<'ghl.outbound_requested'> = {
      ghlMessageId: message.id,
      contactId,
      conversationId: message.conversationId,
      phone,
      message: text,
      attachments: [],
      userId: message.userId ?? null,
      providerType: 'SMS',
    };
    return { message, event: await kit.publish('ghl.outbound_requested', locationId, payload) };
  }

  function serveSends(
    locationId: string,
    reply: (command: CommandEnvelope<'session.send'>) => Promise<{ waMessageId: string }>,
  ) {
    const received: CommandEnvelope<'session.send'>[] = [];
    const sub = kit.commands.handle('session.send', locationId, async (command) => {
      received.push(command);
      const { waMessageId } = await reply(command);
      return { waMessageId, sentAt: new Date().toISOString() };
    });
    subscriptions.push(sub);
    return { received, sub };
  }

  function receipt(
    locationId: string,
    phone: string,
    waMessageId: string,
    status: 'delivered' | 'read' | 'failed',
    error: string | null = null,
  ) {
    return kit.publish('message.status', locationId, {
      waMessageId,
      chatJid: `${phone.slice(1)}@s.whatsapp.net`,
      status,
      error,
      at: new Date().toISOString(),
    });
  }

  it('sends a GHL reply over WhatsApp, records the mapping, and sets GHL status from real receipts: delivered, then read', async () => {
    const { location, phone, contact } = await chat();
    const waMessageId = uniqueId('3EB0');
    const { received, sub } = serveSends(location.id, async () => ({ waMessageId }));
    await sub.ready;
    const { message, event } = await ghlReply(location.id, contact.id, phone, 'we are on it');

    await eventually(() => expect(received).toHaveLength(1), { timeoutMs: 10_000 });
    expect(received[0].payload).toEqual({
      to: phone,
      clientMessageId: `ghl:${message.id}`,
      content: { kind: 'text', text: 'we are on it' },
    });
    expect(received[0].causationId).toBe(event.id);
    await eventually(() =>
      expect(kit.results(event.id)[0]?.payload).toMatchObject({
        outcome: 'applied',
        waMessageId,
        ghlMessageId: message.id,
      }),
    );
    const [mapping] = await kit.dataSource.query<{ ghl_message_id: string; direction: string }[]>(
      `SELECT ghl_message_id, direction FROM message_mappings WHERE location_id = $1 AND wa_message_id = $2`,
      [location.id, waMessageId],
    );
    expect(mapping).toEqual({ ghl_message_id: message.id, direction: 'outbound' });
    // Sending does not make it delivered: only a receipt does.
    expect(
      (await kit.admin.messages({ altId: undefined, locationId: location.id })).find(
        (m) => m.id === message.id,
      )?.status,
    ).toBe('pending');

    // Immediately: GHL answers 403 for the first moments, the sync retries.
    const delivered = await receipt(location.id, phone, waMessageId, 'delivered');
    await eventually(() => expect(kit.results(delivered.id)[0]?.payload.outcome).toBe('applied'), {
      timeoutMs: 10_000,
    });
    const read = await receipt(location.id, phone, waMessageId, 'read');
    await eventually(() => expect(kit.results(read.id)[0]?.payload.outcome).toBe('applied'), {
      timeoutMs: 10_000,
    });

    const stored = (await kit.admin.messages({ locationId: location.id })).find((m) => m.id === message.id);
    expect(stored?.statusHistory.map((s) => s.status)).toEqual(['pending', 'delivered', 'read']);
    const statusCalls = await kit.admin.requests({ operationId: 'update-message-status' });
    const forMessage = statusCalls.filter((r) => r.path.includes(message.id));
    expect(forMessage.some((r) => r.status === 403)).toBe(true);
    expect(forMessage.filter((r) => r.status === 200)).toHaveLength(2);
  });

  it('never moves GHL back from read to delivered when receipts arrive out of order', async () => {
    const { location, phone, contact } = await chat();
    const waMessageId = uniqueId('3EB0');
    const { sub } = serveSends(location.id, async () => ({ waMessageId }));
    await sub.ready;
    const { message, event } = await ghlReply(location.id, contact.id, phone, 'order test');
    await eventually(() => expect(kit.results(event.id)).toHaveLength(1), { timeoutMs: 10_000 });
    const read = await receipt(location.id, phone, waMessageId, 'read');
    await eventually(() => expect(kit.results(read.id)[0]?.payload.outcome).toBe('applied'), {
      timeoutMs: 10_000,
    });
    const lateDelivered = await receipt(location.id, phone, waMessageId, 'delivered');
    await eventually(() =>
      expect(kit.results(lateDelivered.id)[0]?.payload.outcome).toBe('skipped_duplicate'),
    );
    const stored = (await kit.admin.messages({ locationId: location.id })).find((m) => m.id === message.id);
    expect(stored?.status).toBe('read');
  });

  it('resolves the phone from the contact when GHL omits it, and sends once for a redelivered request', async () => {
    const { location, phone, contact } = await chat();
    const { received, sub } = serveSends(location.id, async () => ({ waMessageId: uniqueId('3EB0') }));
    await sub.ready;
    const { event } = await ghlReply(location.id, contact.id, null, 'no phone in the webhook');
    await eventually(() => expect(kit.results(event.id)).toHaveLength(1), { timeoutMs: 10_000 });
    expect(received.map((c) => c.payload.to)).toEqual([phone]);
    await kit.republish(event, 'redelivered');
    await eventually(() =>
      expect(kit.results(event.id).map((r) => r.payload.outcome)).toEqual(['applied', 'skipped_duplicate']),
    );
    expect(received).toHaveLength(1);
  });

  it('reports a permanent WhatsApp refusal to GHL as failed with the reason, and dead-letters the request', async () => {
    const { location, phone, contact } = await chat();
    const { sub } = serveSends(location.id, async () => {
      throw new CommandError('invalid_phone', 'this number is not on WhatsApp');
    });
    await sub.ready;
    const { message, event } = await ghlReply(location.id, contact.id, phone, 'will fail');
    await eventually(
      async () => {
        const stored = (await kit.admin.messages({ locationId: location.id })).find(
          (m) => m.id === message.id,
        );
        expect(stored?.status).toBe('failed');
        expect(stored?.statusHistory.at(-1)?.error?.message).toContain('not on WhatsApp');
      },
      { timeoutMs: 15_000 },
    );
    await eventually(async () => {
      const letters = (await kit.deadLetters()).filter((l) => l.headers['Dlq-Event-Id'] === event.id);
      expect(letters).toHaveLength(1);
      expect(letters[0].headers['Dlq-Reason']).toContain('invalid_phone');
    });
    expect(kit.results(event.id).map((r) => r.payload.outcome)).toEqual(['failed']);
  });

  it('retries while nobody serves the session, and sends once a session owner answers', async () => {
    const { location, phone, contact } = await chat();
    const naksBefore = await naks('sync-ghl-outbound');
    const { event } = await ghlReply(location.id, contact.id, phone, 'waiting for the phone');
    // The first attempt finds no session owner (no_responder) and is retried with backoff.
    await eventually(async () => expect(await naks('sync-ghl-outbound')).toBeGreaterThan(naksBefore), {
      timeoutMs: 10_000,
    });
    expect(kit.results(event.id)).toEqual([]);
    const waMessageId = uniqueId('3EB0');
    const { received, sub } = serveSends(location.id, async () => ({ waMessageId }));
    await sub.ready;
    await eventually(
      () => expect(kit.results(event.id)[0]?.payload).toMatchObject({ outcome: 'applied', waMessageId }),
      {
        timeoutMs: 15_000,
      },
    );
    expect(received).toHaveLength(1);
  });

  it('skips receipts of messages typed on the phone (GHL did not send them)', async () => {
    const { location, phone } = await chat();
    const waMessageId = uniqueId('3EB0');
    const mirrored = await kit.publish('message.outbound', location.id, {
      waMessageId,
      chatJid: `${phone.slice(1)}@s.whatsapp.net`,
      to: { phone, jid: `${phone.slice(1)}@s.whatsapp.net`, lid: null, pushName: null },
      sentAt: new Date().toISOString(),
      content: { kind: 'text', text: 'from the phone' },
      origin: 'phone',
      clientMessageId: null,
    });
    await eventually(() => expect(kit.results(mirrored.id)).toHaveLength(1), { timeoutMs: 10_000 });
    const statusCallsBefore = (await kit.admin.requests({ operationId: 'update-message-status' })).length;
    const delivered: EventEnvelope = await receipt(location.id, phone, waMessageId, 'delivered');
    // A later event of the same chat is handled after the receipt (one chat's events stay in order).
    const after = await kit.publish('message.inbound', location.id, inboundText(phone, 'after the receipt'));
    await eventually(() => expect(kit.results(after.id)).toHaveLength(1), { timeoutMs: 10_000 });
    expect(kit.results(delivered.id)).toEqual([]);
    expect((await kit.admin.requests({ operationId: 'update-message-status' })).length).toBe(
      statusCallsBefore,
    );
  });
});
