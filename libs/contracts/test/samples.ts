import type { CommandPayload, CommandType, EventPayload, EventType } from '../src';

/**
 * One valid payload per event and command. Typed as a complete map, so adding an event or a command
 * to the registry without a sample here fails to compile, and every schema stays covered by tests.
 */
const at = '2026-11-21T10:00:00.000Z';
const bob = { phone: '+15550000002', jid: '15550000002@s.whatsapp.net', lid: '100451542223952@lid', pushName: 'Bob' };

export const EVENT_SAMPLES: { [K in EventType]: EventPayload<K> } = {
  'session.qr': { qr: '2@abc,def,ghi,jkl', attempt: 1, expiresAt: at, workerId: 'worker-a' },
  'session.ready': {
    phone: '+15550000001',
    jid: '15550000001:1@s.whatsapp.net',
    lid: '100794822195921:1@lid',
    pushName: 'Alice',
    workerId: 'worker-a',
  },
  'session.disconnected': {
    code: 428,
    reason: 'Connection Terminated',
    willReconnect: true,
    reconnectInMs: 1200,
    workerId: 'worker-a',
  },
  'session.logged_out': { code: 401, reason: 'device removed from the phone', workerId: 'worker-a' },
  'session.state_changed': {
    state: 'open',
    previous: 'connecting',
    code: null,
    reason: 'connected',
    workerId: 'worker-a',
  },
  'session.pairing_code': { phone: '+15550000001', code: 'ABCD1234', expiresAt: at, workerId: 'worker-a' },
  'message.inbound': {
    waMessageId: '3EB00A975B6A635D193F',
    chatJid: '15550000002@s.whatsapp.net',
    from: bob,
    sentAt: at,
    content: { kind: 'text', text: 'hello' },
  },
  'message.outbound': {
    waMessageId: '3EB0D81C6BFDB488792935',
    chatJid: '15550000002@s.whatsapp.net',
    to: bob,
    sentAt: at,
    content: {
      kind: 'media',
      mediaType: 'image',
      mimetype: 'image/jpeg',
      caption: 'look',
      fileName: null,
      sizeBytes: 1024,
      url: null,
    },
    origin: 'phone',
    clientMessageId: null,
  },
  'message.status': {
    waMessageId: '3EB0D81C6BFDB488792935',
    chatJid: '15550000002@s.whatsapp.net',
    status: 'read',
    error: null,
    at,
  },
  'contact.upserted': { ...bob, source: 'message' },
  'ghl.outbound_requested': {
    ghlMessageId: 'GKJxs4P5L8dWc5CFUITM',
    contactId: 'GKBhT6BfwY9mjzXAU3sq',
    conversationId: null,
    phone: '+15864603685',
    message: 'The text message to be sent to the contact',
    attachments: ['https://example.com/logo.png'],
    userId: 'GK56r6wdJDrkUPd0xsmx',
    providerType: 'SMS',
  },
  'ghl.sync_result': {
    sourceEventId: 'evt-1',
    sourceEventType: 'message.inbound',
    waMessageId: '3EB00A975B6A635D193F',
    ghlMessageId: 'msg-1',
    outcome: 'applied',
    detail: null,
  },
  'ghl.token_refreshed': { resource: 'location', expiresAt: at },
  'ghl.reauth_required': { reason: 'Invalid grant: refresh token is invalid' },
  'installation.changed': { change: 'installed', companyId: 'GNb7aIv4rQFVb9iwNl5K', installType: 'Location' },
};

export const COMMAND_SAMPLES: { [K in CommandType]: CommandPayload<K> } = {
  'session.start': {},
  'session.stop': {},
  'session.logout': {},
  'session.restart': {},
  'session.send': {
    to: '+15550000002',
    clientMessageId: 'ghl:GKJxs4P5L8dWc5CFUITM',
    content: { kind: 'text', text: 'hi' },
  },
  'session.request_pairing_code': { phone: '+15550000001' },
  'oauth.exchange_code': { code: 'one-time-code' },
};
