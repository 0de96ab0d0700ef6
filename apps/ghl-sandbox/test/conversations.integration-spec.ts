import { verify } from 'node:crypto';
import { startWebhookRecorder, type ProviderDto, type WebhookRecorder } from '@app/ghl-sandbox-client';
import { eventually } from '@app/testing/eventually';
import { locationWithToken, startTestSandbox, type TestSandbox } from './sandbox-fixture';

describe('GHL sandbox: conversations and the provider flow (GHL-CONTRACT §4, §5)', () => {
  let t: TestSandbox;
  let receiver: WebhookRecorder;
  let locationId: string;
  let token: string;
  let contactId: string;
  let provider: ProviderDto;

  beforeAll(async () => {
    receiver = await startWebhookRecorder();
    t = await startTestSandbox();
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });
  beforeEach(async () => {
    await t.admin.reset();
    receiver.requests.length = 0;
    ({
      location: { id: locationId },
      token,
    } = await locationWithToken(t.admin));
    provider = await t.admin.createProvider({
      deliveryUrl: `${receiver.url}/webhooks/ghl/provider`,
      name: 'WhatsApp',
    });
    const contact = await t.api.upsertContact(token, { locationId, phone: '+15551230000', name: 'Cai' });
    contactId = (contact.body.contact as { id: string }).id;
  });

  describe('search and create', () => {
    it('a contact without messages has no conversation; create makes one (201), a second create is 400', async () => {
      const empty = await t.api.searchConversations(token, { locationId, contactId });
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({ conversations: [], total: 0 });

      const created = await t.api.createConversation(token, { locationId, contactId });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        success: true,
        conversation: { contactId, locationId, deleted: false },
      });
      const conversationId = (created.body.conversation as { id: string }).id;

      const found = await t.api.searchConversations(token, { locationId, contactId });
      expect(found.body.total).toBe(1);
      expect(found.body.conversations).toEqual([
        expect.objectContaining({ id: conversationId, contactId, phone: '+15551230000', contactName: 'Cai' }),
      ]);

      const again = await t.api.createConversation(token, { locationId, contactId });
      expect(again.status).toBe(400);
      expect(again.body).toMatchObject({ message: 'Conversation already exists', conversationId });
    });

    it('conversations use Version 2021-04-15: the contacts value is rejected', async () => {
      const res = await t.api.request('GET', '/conversations/search', {
        token,
        version: '2021-07-28',
        query: { locationId },
      });
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('version header is invalid');
    });

    it("search needs locationId (422 naming it) and only the token's location (403)", async () => {
      const missing = await t.api.request('GET', '/conversations/search', { token, version: '2021-04-15' });
      expect(missing.status).toBe(422);
      expect(missing.body.message).toEqual(['locationId should not be empty']);
      const other = await locationWithToken(t.admin);
      const foreign = await t.api.searchConversations(token, { locationId: other.location.id });
      expect(foreign.status).toBe(403);
    });
  });

  describe('inbound messages', () => {
    it('records altId, provider and direction, and creates the conversation when only contactId is sent', async () => {
      const res = await t.api.addInboundMessage(token, {
        type: 'SMS',
        contactId,
        conversationProviderId: provider.id,
        message: 'hello from WhatsApp',
        altId: 'wamid.ABC123',
        direction: 'inbound',
        date: '2026-11-21T10:00:00.000Z',
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: true, contactId });
      const [message] = await t.admin.messages({ altId: 'wamid.ABC123' });
      expect(message).toMatchObject({
        id: res.body.messageId,
        conversationId: res.body.conversationId,
        direction: 'inbound',
        conversationProviderId: provider.id,
        messageType: 'TYPE_CUSTOM_PROVIDER_SMS',
        body: 'hello from WhatsApp',
        dateAdded: '2026-11-21T10:00:00.000Z',
      });
    });

    it('does not de-duplicate by altId: counts expose a double write', async () => {
      const body = {
        type: 'SMS',
        contactId,
        conversationProviderId: provider.id,
        message: 'hi',
        altId: 'wamid.DUP',
        direction: 'inbound',
      };
      const first = await t.api.addInboundMessage(token, body);
      const second = await t.api.addInboundMessage(token, body);
      expect(second.body.messageId).not.toBe(first.body.messageId);
      const counts = await t.admin.counts(locationId);
      expect(counts.messagesByAltId).toEqual({ 'wamid.DUP': 2 });
      expect(counts.duplicateAltIds).toEqual(['wamid.DUP']);
      expect(counts.messages).toEqual({ inbound: 2, outbound: 0 });
    });

    it('without direction the message lands on the outbound side (the spec default, §4.2)', async () => {
      await t.api.addInboundMessage(token, {
        type: 'SMS',
        contactId,
        conversationProviderId: provider.id,
        message: 'x',
        altId: 'a1',
      });
      const [message] = await t.admin.messages({ altId: 'a1' });
      expect(message.direction).toBe('outbound');
    });

    it("another app's provider id is 400 Invalid conversationProviderId; an unknown one is 500 (ISSUE #6)", async () => {
      const foreign = await t.admin.createProvider({
        appId: 'anotherApp',
        deliveryUrl: 'http://127.0.0.1:9/x',
      });
      const res = await t.api.addInboundMessage(token, {
        type: 'SMS',
        contactId,
        conversationProviderId: foreign.id,
        direction: 'inbound',
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        message: 'Invalid conversationProviderId',
        error: 'Bad Request',
        statusCode: 400,
      });

      const unknown = await t.api.addInboundMessage(token, {
        type: 'SMS',
        contactId,
        conversationProviderId: 'nope',
        direction: 'inbound',
      });
      expect(unknown.status).toBe(500);
      expect((await t.admin.counts(locationId)).messages.inbound).toBe(0);
    });

    it('type Custom without a provider id answers 201 with no body and adds nothing (ISSUE #70)', async () => {
      const res = await t.api.addInboundMessage(token, {
        type: 'Custom',
        contactId,
        message: 'lost',
        direction: 'inbound',
      });
      expect(res.status).toBe(201);
      expect(res.body).toBeNull();
      expect(await t.admin.messages({ locationId })).toHaveLength(0);
    });

    it('validation: a missing contactId and a bad type are a 422 naming both', async () => {
      const res = await t.api.addInboundMessage(token, { type: 'Telegram', message: 'x' });
      expect(res.status).toBe(422);
      expect(res.body.message).toEqual([
        'contactId should not be empty',
        expect.stringMatching(/^type must be one of the following values: SMS, RCS, Email/),
      ]);
    });
  });

  describe('outbound messages and the ProviderOutboundMessage webhook', () => {
    it('send message queues it and POSTs a ProviderOutboundMessage signed with Ed25519 and RSA', async () => {
      const res = await t.api.sendMessage(token, { type: 'SMS', contactId, message: 'reply from GHL' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ msg: 'Message queued successfully.', status: 'pending' });

      const [hook] = await receiver.waitFor(1);
      expect(hook.path).toBe('/webhooks/ghl/provider');
      expect(hook.json).toEqual({
        contactId,
        locationId,
        messageId: res.body.messageId,
        type: 'SMS',
        phone: '+15551230000',
        message: 'reply from GHL',
        attachments: [],
      });
      const keys = await t.admin.keys();
      const ghlSig = String(hook.headers['x-ghl-signature']);
      const whSig = String(hook.headers['x-wh-signature']);
      expect(
        verify(null, Buffer.from(hook.rawBody), keys.ed25519PublicKeyPem, Buffer.from(ghlSig, 'base64')),
      ).toBe(true);
      expect(
        verify('sha256', Buffer.from(hook.rawBody), keys.rsaPublicKeyPem, Buffer.from(whSig, 'base64')),
      ).toBe(true);
      // A signature over other bytes does not verify: the check is real.
      expect(
        verify(
          null,
          Buffer.from(`${hook.rawBody} `),
          keys.ed25519PublicKeyPem,
          Buffer.from(ghlSig, 'base64'),
        ),
      ).toBe(false);

      const [message] = await t.admin.messages({ conversationId: String(res.body.conversationId) });
      expect(message).toMatchObject({
        direction: 'outbound',
        status: 'pending',
        conversationProviderId: provider.id,
        origin: 'send-api',
      });
      const delivery = await t.admin.delivery(message.deliveryId!, true);
      expect(delivery).toMatchObject({
        kind: 'ProviderOutboundMessage',
        state: 'delivered',
        finalStatus: 200,
      });
    });

    it('a GHL user reply (admin simulation) reaches the delivery URL with the userId', async () => {
      const sent = await t.admin.simulateUserMessage({
        locationId,
        phone: '+1 555 123 0000',
        message: 'typed in GHL',
        userId: 'user123',
      });
      expect(sent.message).toMatchObject({ origin: 'ghl-user', direction: 'outbound', status: 'pending' });
      const [hook] = await receiver.waitFor(1);
      expect(hook.json).toMatchObject({
        messageId: sent.message.id,
        message: 'typed in GHL',
        userId: 'user123',
        type: 'SMS',
      });
    });

    it('status updates are 403 during the downstream window, then 200 (ISSUE #4)', async () => {
      await t.admin.updateSettings({ statusUpdateDelaySeconds: 1 });
      try {
        const sent = await t.api.sendMessage(token, { type: 'SMS', contactId, message: 'track me' });
        const messageId = String(sent.body.messageId);
        const statuses: number[] = [];
        const final = await eventually(
          async () => {
            const res = await t.api.updateMessageStatus(token, messageId, { status: 'delivered' });
            statuses.push(res.status);
            if (res.status === 403) {
              expect(res.body.message).toMatch(/not allowed until the message is downstreamed/);
            }
            expect(res.status).toBe(200);
            return res;
          },
          { timeoutMs: 5_000, intervalMs: 50 },
        );
        expect(statuses[0]).toBe(403);
        expect(final.body).toEqual({
          conversationId: sent.body.conversationId,
          messageId,
          status: 'delivered',
        });
        const read = await t.api.updateMessageStatus(token, messageId, { status: 'read' });
        expect(read.status).toBe(200);
        const [message] = await t.admin.messages({ conversationId: String(sent.body.conversationId) });
        expect(message.status).toBe('read');
        expect(message.statusHistory.map((s) => s.status)).toEqual(['pending', 'delivered', 'read']);
      } finally {
        await t.admin.updateSettings({ statusUpdateDelaySeconds: 3 });
      }
    });

    it('status: an invalid value is 422, a message without our provider is 403, failed carries the error', async () => {
      await t.admin.updateSettings({ statusUpdateDelaySeconds: 0 });
      try {
        const sent = await t.api.sendMessage(token, { type: 'SMS', contactId, message: 'm' });
        const messageId = String(sent.body.messageId);
        const invalid = await t.api.updateMessageStatus(token, messageId, { status: 'sent' });
        expect(invalid.status).toBe(422);
        expect(invalid.body.message).toEqual([
          'status must be one of the following values: delivered, failed, pending, read',
        ]);

        const failed = await t.api.updateMessageStatus(token, messageId, {
          status: 'failed',
          error: { code: '1', type: 'saas', message: 'WhatsApp rejected it' },
        });
        expect(failed.status).toBe(200);
        const [message] = await t.admin.messages({ conversationId: String(sent.body.conversationId) });
        expect(message.statusHistory[1]).toMatchObject({
          status: 'failed',
          error: { message: 'WhatsApp rejected it' },
        });

        const inbound = await t.api.addInboundMessage(token, {
          type: 'SMS',
          contactId,
          message: 'in',
          direction: 'inbound',
        });
        const notOurs = await t.api.updateMessageStatus(token, String(inbound.body.messageId), {
          status: 'read',
        });
        expect(notOurs.status).toBe(403);
      } finally {
        await t.admin.updateSettings({ statusUpdateDelaySeconds: 3 });
      }
    });

    it('list messages answers the nested shape, newest first, paged by lastMessageId', async () => {
      const first = await t.api.addInboundMessage(token, {
        type: 'SMS',
        contactId,
        conversationProviderId: provider.id,
        message: 'one',
        direction: 'inbound',
      });
      const conversationId = String(first.body.conversationId);
      await t.api.addInboundMessage(token, {
        type: 'SMS',
        contactId,
        conversationId,
        conversationProviderId: provider.id,
        message: 'two',
        direction: 'inbound',
      });
      await t.api.sendMessage(token, { type: 'SMS', contactId, message: 'three' });

      const page1 = await t.api.listMessages(token, conversationId, { limit: 2 });
      expect(page1.status).toBe(200);
      const inner = page1.body.messages as {
        lastMessageId: string;
        nextPage: boolean;
        messages: Array<{ body: string; direction: string }>;
      };
      expect(inner.messages.map((m) => m.body)).toEqual(['three', 'two']);
      expect(inner.nextPage).toBe(true);
      const page2 = await t.api.listMessages(token, conversationId, {
        limit: 2,
        lastMessageId: inner.lastMessageId,
      });
      const inner2 = page2.body.messages as {
        nextPage: boolean;
        messages: Array<{ body: string; direction: string }>;
      };
      expect(inner2.messages.map((m) => [m.body, m.direction])).toEqual([['one', 'inbound']]);
      expect(inner2.nextPage).toBe(false);
    });
  });
});
