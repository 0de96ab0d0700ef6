import { ghlMessageBody, isDirectChat } from './message-content';
import { isSameMessage } from './ghl-message.writer';

const media = {
  kind: 'media' as const,
  mediaType: 'image' as const,
  mimetype: 'image/jpeg',
  caption: ' look ',
  fileName: 'photo.jpg',
  sizeBytes: 10,
  url: 'https://files.example.com/photo.jpg',
};

describe('WhatsApp content as a GHL message', () => {
  it('puts text in the body', () => {
    expect(ghlMessageBody({ kind: 'text', text: 'hi' })).toEqual({ message: 'hi' });
  });

  it('passes media by URL as an attachment with the caption as the body', () => {
    expect(ghlMessageBody(media)).toEqual({ message: 'look', attachments: [media.url] });
    expect(ghlMessageBody({ ...media, caption: null })).toEqual({ attachments: [media.url] });
  });

  it('attaches the URL GHL gave for uploaded bytes', () => {
    const uploaded = 'https://ghl.example/files/photo.jpg';
    expect(ghlMessageBody({ ...media, url: null }, uploaded)).toEqual({
      message: 'look',
      attachments: [uploaded],
    });
  });

  it('labels media whose bytes stay on WhatsApp', () => {
    expect(ghlMessageBody({ ...media, url: null })).toEqual({ message: '[image: photo.jpg] look' });
    expect(ghlMessageBody({ ...media, url: null, caption: null, fileName: null })).toEqual({
      message: '[image]',
    });
  });

  it('syncs one-to-one chats only', () => {
    expect(isDirectChat('15550000001@s.whatsapp.net')).toBe(true);
    expect(isDirectChat('123@lid')).toBe(true);
    expect(isDirectChat('120363000000000000@g.us')).toBe(false);
    expect(isDirectChat('status@broadcast')).toBe(false);
  });
});

describe('finding a message an interrupted attempt wrote', () => {
  const input = {
    waMessageId: '3EB0AAA',
    direction: 'inbound' as const,
    sentAt: '2026-11-21T10:00:00.000Z',
    content: { kind: 'text' as const, text: 'hello' },
  };

  it('matches by altId when GHL shows it', () => {
    expect(isSameMessage({ id: 'g1', altId: '3EB0AAA' }, input)).toBe(true);
    expect(
      isSameMessage(
        { id: 'g1', altId: '3EB0BBB', body: 'hello', dateAdded: input.sentAt, direction: 'inbound' },
        input,
      ),
    ).toBe(false);
  });

  it('else by direction, original time and body (what the spec lists)', () => {
    const written = {
      id: 'g1',
      direction: 'inbound',
      dateAdded: '2026-11-21T10:00:00Z',
      body: 'hello',
      attachments: [],
    };
    expect(isSameMessage(written, input)).toBe(true);
    expect(isSameMessage({ ...written, direction: 'outbound' }, input)).toBe(false);
    expect(isSameMessage({ ...written, dateAdded: '2026-11-21T10:00:01Z' }, input)).toBe(false);
    expect(isSameMessage({ ...written, body: 'hello!' }, input)).toBe(false);
  });

  it('requires the attachments we wrote', () => {
    const withMedia = { ...input, content: media };
    const written = { id: 'g1', direction: 'inbound', dateAdded: input.sentAt, body: 'look' };
    expect(isSameMessage({ ...written, attachments: [media.url] }, withMedia)).toBe(true);
    expect(isSameMessage({ ...written, attachments: [] }, withMedia)).toBe(false);
  });

  it('recognises uploaded media by the URL the interrupted attempt recorded', () => {
    const stored = {
      ...input,
      content: { ...media, url: null, stored: { objectName: 'l/3EB0AAA', sizeBytes: 10 } },
    };
    const written = { id: 'g1', direction: 'inbound', dateAdded: input.sentAt, body: 'look' };
    const uploaded = 'https://ghl.example/files/a.jpg';
    expect(isSameMessage({ ...written, attachments: [uploaded] }, stored, uploaded)).toBe(true);
    expect(
      isSameMessage({ ...written, attachments: ['https://ghl.example/files/b.jpg'] }, stored, uploaded),
    ).toBe(false);
  });
});
