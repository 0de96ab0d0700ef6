import { whatsAppParts } from './ghl-outbound.handler';
import { ghlMessageIdOf } from './phone-outbound.handler';

describe('GHL outbound messages as WhatsApp messages', () => {
  it('sends the text, then each attachment as media by URL with a type from its extension', () => {
    expect(
      whatsAppParts('see attached', [
        'https://x.test/a/report%20Q3.pdf',
        'https://x.test/p.PNG',
        'https://x.test/file',
      ]),
    ).toEqual([
      { kind: 'text', text: 'see attached' },
      {
        kind: 'media',
        mediaType: 'document',
        mimetype: 'application/pdf',
        caption: null,
        fileName: 'report Q3.pdf',
        sizeBytes: null,
        url: 'https://x.test/a/report%20Q3.pdf',
      },
      {
        kind: 'media',
        mediaType: 'image',
        mimetype: 'image/png',
        caption: null,
        fileName: 'p.PNG',
        sizeBytes: null,
        url: 'https://x.test/p.PNG',
      },
      {
        kind: 'media',
        mediaType: 'document',
        mimetype: 'application/octet-stream',
        caption: null,
        fileName: 'file',
        sizeBytes: null,
        url: 'https://x.test/file',
      },
    ]);
  });

  it('sends nothing for an empty message', () => {
    expect(whatsAppParts('   ', [])).toEqual([]);
    expect(whatsAppParts(null, [])).toEqual([]);
  });

  it('keeps a file name whose escapes do not decode as it is, instead of failing the message', () => {
    // Found by the bad-input suite (test/fuzz): decodeURIComponent threw, and the message was retried
    // until it was dead-lettered as "URI malformed".
    expect(
      whatsAppParts(null, ['https://x.test/100%ZZ.pdf', 'https://x.test/a%E0%A4%A']).map((p) =>
        p.kind === 'media' ? [p.fileName, p.mimetype] : p,
      ),
    ).toEqual([
      ['100%ZZ.pdf', 'application/pdf'],
      ['a%E0%A4%A', 'application/octet-stream'],
    ]);
  });

  it('recognises its own send commands in WhatsApp echoes', () => {
    expect(ghlMessageIdOf('ghl:abc123')).toBe('abc123');
    expect(ghlMessageIdOf('ghl:abc123:1')).toBeNull();
    expect(ghlMessageIdOf('api:abc')).toBeNull();
    expect(ghlMessageIdOf(null)).toBeNull();
  });
});
