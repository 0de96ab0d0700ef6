import type { EventEnvelope, MessageContent } from '@app/contracts';
import { MediaStore } from '@app/messaging';
import { eventually } from '@app/testing';
import { ProcessedMessagePruner } from '../src/idempotency/processed-message.pruner';
import { inboundText, newPhone, startSyncTestKit, uniqueId, type SyncTestKit } from './sync-test-kit';

/**
 * WhatsApp → GHL with the sync in-process, real NATS and Postgres, and the GHL sandbox over HTTP.
 * Every test also checks that the sandbox validated every request the sync made (no 422/404/501).
 */
describe('sync: WhatsApp messages into GHL', () => {
  let kit: SyncTestKit;

  beforeAll(async () => {
    kit = await startSyncTestKit();
    await kit.startSync();
  }, 60_000);

  afterAll(async () => {
    await kit?.close();
  });

  afterEach(async () => {
    expect(await kit.schemaViolations()).toEqual([]);
  });

  it('upserts the contact by E.164 phone with the push name, then adds the inbound message with altId and the original time', async () => {
    const { location } = await kit.installedLocation();
    const phone = newPhone();
    const sentAt = new Date(Date.now() - 60_000);
    const event = await kit.publish(
      'message.inbound',
      location.id,
      inboundText(phone, 'hello from WhatsApp', { pushName: 'Rosa Diaz', sentAt }),
    );

    const [message] = await eventually(
      async () => {
        const found = await kit.admin.messages({ locationId: location.id, altId: event.payload.waMessageId });
        expect(found).toHaveLength(1);
        return found;
      },
      { timeoutMs: 10_000 },
    );
    expect(message).toMatchObject({
      direction: 'inbound',
      body: 'hello from WhatsApp',
      type: 'SMS',
      conversationProviderId: kit.provider.id,
      dateAdded: sentAt.toISOString(),
    });
    const contacts = await kit.admin.contacts({ locationId: location.id });
    expect(contacts).toHaveLength(1);
    expect(contacts[0]).toMatchObject({ phone, name: 'Rosa Diaz', id: message.contactId });
    const conversations = await kit.admin.conversations({ locationId: location.id });
    expect(conversations.map((c) => c.id)).toEqual([message.conversationId]);

    await eventually(() => {
      const [result] = kit.results(event.id);
      expect(result?.payload).toMatchObject({
        outcome: 'applied',
        ghlMessageId: message.id,
        waMessageId: event.payload.waMessageId,
      });
      expect(result?.causationId).toBe(event.id);
      expect(result?.correlationId).toBe(event.correlationId);
    });
  });

  it('writes one GHL message when the same event is delivered three times, and says the others were duplicates', async () => {
    const { location } = await kit.installedLocation();
    const event = await kit.publish('message.inbound', location.id, inboundText(newPhone(), 'only once'));
    await eventually(() => expect(kit.results(event.id).map((r) => r.payload.outcome)).toEqual(['applied']), {
      timeoutMs: 10_000,
    });
    await kit.republish(event, 'again-1');
    await kit.republish(event, 'again-2');

    await eventually(
      () =>
        expect(
          kit
            .results(event.id)
            .map((r) => r.payload.outcome)
            .sort(),
        ).toEqual(['applied', 'skipped_duplicate', 'skipped_duplicate']),
      { timeoutMs: 10_000 },
    );
    const counts = await kit.admin.counts(location.id);
    expect(counts.messagesByAltId).toEqual({ [event.payload.waMessageId]: 1 });
    expect(counts.duplicateAltIds).toEqual([]);
    expect(counts.requestsByOperation['add-an-inbound-message']).toBe(1);
  });

  it('does not write again when an event is replayed through the replay stream', async () => {
    const { location } = await kit.installedLocation();
    const event = await kit.publish('message.inbound', location.id, inboundText(newPhone(), 'replay me'));
    await eventually(() => expect(kit.results(event.id)).toHaveLength(1), { timeoutMs: 10_000 });
    await kit.republish(event, 'replay-run-1', 'replay');
    await eventually(
      () =>
        expect(kit.results(event.id).map((r) => r.payload.outcome)).toEqual(['applied', 'skipped_duplicate']),
      { timeoutMs: 10_000 },
    );
    expect((await kit.admin.counts(location.id)).messages.inbound).toBe(1);
  });

  it('keeps one contact and one conversation for a chat, and costs one GHL call per later message', async () => {
    const { location } = await kit.installedLocation();
    const phone = newPhone();
    const first = await kit.publish(
      'message.inbound',
      location.id,
      inboundText(phone, 'one', { pushName: 'Ann' }),
    );
    await eventually(() => expect(kit.results(first.id)).toHaveLength(1), { timeoutMs: 10_000 });
    const before = await kit.admin.counts(location.id);
    const later: EventEnvelope<'message.inbound'>[] = [];
    for (const text of ['two', 'three', 'four']) {
      later.push(
        await kit.publish('message.inbound', location.id, inboundText(phone, text, { pushName: 'Ann' })),
      );
    }
    await eventually(() => expect(later.every((e) => kit.results(e.id).length === 1)).toBe(true), {
      timeoutMs: 10_000,
    });
    const after = await kit.admin.counts(location.id);
    expect(after.contacts).toBe(1);
    expect(after.conversations).toBe(1);
    expect(after.messages.inbound).toBe(4);
    const calls = (counts: typeof before) =>
      Object.values(counts.requestsByOperation).reduce((sum, n) => sum + n, 0);
    expect(calls(after) - calls(before)).toBe(3);
    // In the chat's order.
    const bodies = (await kit.admin.messages({ locationId: location.id })).map((m) => m.body);
    expect(bodies).toEqual(['one', 'two', 'three', 'four']);
  });

  it('uses the push name only for a contact without a name', async () => {
    const { location, accessToken } = await kit.installedLocation();
    const phone = newPhone();
    const created = await fetch(`${kit.sandbox.url}/contacts/`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${accessToken}`,
        version: '2021-07-28',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ locationId: location.id, phone, name: 'Named In GHL' }),
    });
    expect(created.status).toBe(201);
    const event = await kit.publish(
      'message.inbound',
      location.id,
      inboundText(phone, 'hi', { pushName: 'Push Name' }),
    );
    await eventually(() => expect(kit.results(event.id)).toHaveLength(1), { timeoutMs: 10_000 });
    const contacts = await kit.admin.contacts({ locationId: location.id });
    expect(contacts).toHaveLength(1);
    expect(contacts[0].name).toBe('Named In GHL');
  });

  it('mirrors a message typed on the phone as outbound, without a provider webhook', async () => {
    const { location } = await kit.installedLocation();
    const phone = newPhone();
    const digits = phone.slice(1);
    const deliveriesBefore = (await kit.admin.state()).messages.length;
    const event = await kit.publish('message.outbound', location.id, {
      waMessageId: uniqueId('3EB0'),
      chatJid: `${digits}@s.whatsapp.net`,
      to: { phone, jid: `${digits}@s.whatsapp.net`, lid: null, pushName: null },
      sentAt: new Date().toISOString(),
      content: { kind: 'text', text: 'typed on my phone' },
      origin: 'phone',
      clientMessageId: null,
    });
    const [message] = await eventually(
      async () => {
        const found = await kit.admin.messages({ locationId: location.id, altId: event.payload.waMessageId });
        expect(found).toHaveLength(1);
        return found;
      },
      { timeoutMs: 10_000 },
    );
    expect(message).toMatchObject({
      direction: 'outbound',
      body: 'typed on my phone',
      origin: 'inbound-api',
    });
    expect(message.deliveryId).toBeUndefined();
    const providerWebhooks = (await fetch(
      `${kit.sandbox.url}/admin/webhooks/deliveries?kind=ProviderOutboundMessage`,
      {
        headers: { authorization: `Bearer ${kit.sandbox.config.adminToken}` },
      },
    ).then((r) => r.json())) as unknown[];
    expect(providerWebhooks).toEqual([]);
    expect((await kit.admin.state()).messages.length).toBe(deliveriesBefore + 1);
  });

  it('turns media with a URL into an attachment and media without one into a labelled body', async () => {
    const { location } = await kit.installedLocation();
    const phone = newPhone();
    const base = inboundText(phone, 'x');
    const withUrl = await kit.publish('message.inbound', location.id, {
      ...base,
      waMessageId: uniqueId('3EB0'),
      content: {
        kind: 'media',
        mediaType: 'image',
        mimetype: 'image/jpeg',
        caption: 'look',
        fileName: 'photo.jpg',
        sizeBytes: 1234,
        url: 'https://files.example.com/photo.jpg',
      },
    });
    const withoutUrl = await kit.publish('message.inbound', location.id, {
      ...base,
      waMessageId: uniqueId('3EB0'),
      content: {
        kind: 'media',
        mediaType: 'audio',
        mimetype: 'audio/ogg',
        caption: null,
        fileName: null,
        sizeBytes: null,
        url: null,
      },
    });
    await eventually(
      () => expect([withUrl, withoutUrl].every((e) => kit.results(e.id).length === 1)).toBe(true),
      {
        timeoutMs: 10_000,
      },
    );
    const [a] = await kit.admin.messages({ altId: withUrl.payload.waMessageId });
    const [b] = await kit.admin.messages({ altId: withoutUrl.payload.waMessageId });
    expect(a).toMatchObject({ body: 'look', attachments: ['https://files.example.com/photo.jpg'] });
    expect(b).toMatchObject({ body: '[audio]', attachments: [] });
  });

  it("uploads media the session worker stored and attaches GHL's URL; media GHL does not take is labelled", async () => {
    const { location } = await kit.installedLocation();
    const phone = newPhone();
    const media = new MediaStore(kit.connection);
    const base = inboundText(phone, 'x');
    const mediaEvent = async (
      content: Omit<Extract<MessageContent, { kind: 'media' }>, 'kind' | 'url' | 'stored'>,
      bytes: Buffer,
    ) => {
      const waMessageId = uniqueId('3EB0');
      const stored = await media.put({ locationId: location.id, waMessageId }, bytes, content.mimetype);
      return kit.publish('message.inbound', location.id, {
        ...base,
        waMessageId,
        content: { kind: 'media', ...content, url: null, stored },
      });
    };
    const jpeg = Buffer.from('not really a jpeg, but bytes all the same');
    const photo = await mediaEvent(
      {
        mediaType: 'image',
        mimetype: 'image/jpeg',
        caption: 'the receipt',
        fileName: null,
        sizeBytes: jpeg.length,
      },
      jpeg,
    );
    // A voice note (ogg) is not in GHL's upload list; a 6 MB video is over the sandbox's 5 MB limit.
    const voice = await mediaEvent(
      { mediaType: 'audio', mimetype: 'audio/ogg; codecs=opus', caption: null, fileName: null, sizeBytes: 3 },
      Buffer.from('ogg'),
    );
    const video = await mediaEvent(
      {
        mediaType: 'video',
        mimetype: 'video/mp4',
        caption: 'big',
        fileName: 'clip.mp4',
        sizeBytes: 6_000_000,
      },
      Buffer.alloc(6_000_000),
    );
    await eventually(
      () =>
        expect([photo, voice, video].map((e) => kit.results(e.id)[0]?.payload.outcome)).toEqual([
          'applied',
          'applied',
          'applied',
        ]),
      { timeoutMs: 15_000 },
    );

    const [withPhoto] = await kit.admin.messages({ altId: photo.payload.waMessageId });
    expect(withPhoto).toMatchObject({
      body: 'the receipt',
      direction: 'inbound',
      attachments: [expect.any(String)],
    });
    const served = await fetch(withPhoto.attachments[0]);
    expect(Buffer.from(await served.arrayBuffer()).equals(jpeg)).toBe(true);
    const uploads = await kit.admin.requests({
      operationId: 'upload-file-attachments',
      locationId: location.id,
    });
    expect(uploads.map((u) => u.status)).toEqual(expect.arrayContaining([200, 413]));
    expect(uploads).toHaveLength(2);
    expect(uploads.find((u) => u.status === 200)?.body).toMatchObject({
      conversationId: withPhoto.conversationId,
      contactId: withPhoto.contactId,
      locationId: location.id,
      files: [`whatsapp-image-${photo.payload.waMessageId}.jpg`],
    });
    const [withVoice] = await kit.admin.messages({ altId: voice.payload.waMessageId });
    expect(withVoice).toMatchObject({ body: '[audio]', attachments: [] });
    const [withVideo] = await kit.admin.messages({ altId: video.payload.waMessageId });
    expect(withVideo).toMatchObject({ body: '[video: clip.mp4] big', attachments: [] });
    // Bytes that are in GHL (or that GHL will never take) are not kept.
    await eventually(async () => {
      for (const event of [photo, voice, video]) {
        const content = event.payload.content as Extract<MessageContent, { kind: 'media' }>;
        expect(await media.get(content.stored!.objectName)).toBeNull();
      }
    });
  }, 30_000);

  it('dead-letters a message whose sender has no phone number, with the reason, and goes on', async () => {
    const { location } = await kit.installedLocation();
    const lidOnly = await kit.publish('message.inbound', location.id, {
      waMessageId: uniqueId('3EB0'),
      chatJid: '123456789012345@lid',
      from: { phone: null, jid: '123456789012345@lid', lid: '123456789012345@lid', pushName: 'No Phone' },
      sentAt: new Date().toISOString(),
      content: { kind: 'text', text: 'from a LID' },
    });
    const next = await kit.publish('message.inbound', location.id, inboundText(newPhone(), 'after it'));
    await eventually(() => expect(kit.results(next.id).map((r) => r.payload.outcome)).toEqual(['applied']), {
      timeoutMs: 10_000,
    });
    await eventually(
      async () => {
        const letters = (await kit.deadLetters()).filter((l) => l.headers['Dlq-Event-Id'] === lidOnly.id);
        expect(letters).toHaveLength(1);
        expect(letters[0].headers['Dlq-Reason']).toContain('no phone number');
      },
      { timeoutMs: 10_000 },
    );
    expect(kit.results(lidOnly.id).map((r) => r.payload.outcome)).toEqual(['failed']);
  });
});

describe('sync: idempotency records', () => {
  it('deletes records twice as old as the event stream keeps events, and keeps younger ones', async () => {
    const kit = await startSyncTestKit({ dbPrefix: 'sync_prune_test' });
    try {
      const app = await kit.startSync({ EVENTS_MAX_AGE: '1h' });
      await kit.dataSource.query(
        `INSERT INTO processed_messages (key, location_id, result, created_at) VALUES
           ('old', 'loc1', '{"state":"done"}', now() - interval '3 hours'),
           ('young', 'loc1', '{"state":"done"}', now() - interval '1 hour')`,
      );
      expect(await app.get(ProcessedMessagePruner).prune()).toBe(1);
      const keys = await kit.dataSource.query<{ key: string }[]>(`SELECT key FROM processed_messages`);
      expect(keys.map((k) => k.key)).toEqual(['young']);
    } finally {
      await kit.close();
    }
  }, 60_000);
});
