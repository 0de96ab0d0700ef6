import { attachmentFileName, type MediaContent } from './attachment-file';

const media = (overrides: Partial<MediaContent>): MediaContent => ({
  kind: 'media',
  mediaType: 'image',
  mimetype: 'image/jpeg',
  caption: null,
  fileName: null,
  sizeBytes: null,
  url: null,
  ...overrides,
});

describe('the file name of WhatsApp media in GHL', () => {
  it("keeps the sender's file name when GHL takes its extension", () => {
    expect(
      attachmentFileName(
        media({ mediaType: 'document', mimetype: 'application/pdf', fileName: 'Offer.PDF' }),
        'id1',
      ),
    ).toBe('Offer.PDF');
  });

  it('names media without a usable name after the message, with the extension of its mimetype', () => {
    expect(attachmentFileName(media({}), '3EB0AA')).toBe('whatsapp-image-3EB0AA.jpg');
    expect(attachmentFileName(media({ mediaType: 'video', mimetype: 'video/mp4; codecs=avc1' }), 'v1')).toBe(
      'whatsapp-video-v1.mp4',
    );
    expect(
      attachmentFileName(media({ mediaType: 'document', mimetype: 'text/plain', fileName: 'notes' }), 'd1'),
    ).toBe('notes.txt');
  });

  it('gives null for types GHL does not take: voice notes, stickers, spreadsheets', () => {
    expect(
      attachmentFileName(media({ mediaType: 'audio', mimetype: 'audio/ogg; codecs=opus' }), 'a1'),
    ).toBeNull();
    expect(attachmentFileName(media({ mediaType: 'sticker', mimetype: 'image/webp' }), 's1')).toBeNull();
    expect(
      attachmentFileName(
        media({
          mediaType: 'document',
          mimetype: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          fileName: 'sheet.xlsx',
        }),
        'x1',
      ),
    ).toBeNull();
  });
});
