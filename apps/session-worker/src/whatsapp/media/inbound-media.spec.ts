import type { MessageContent } from '@app/contracts';
import { pino } from 'pino';
import { withStoredMedia, type MediaDownloadPolicy } from './inbound-media';

const logger = pino({ level: 'silent' });
const target = { locationId: 'loc1', waMessageId: '3EB0AA' };
const photo: MessageContent = {
  kind: 'media',
  mediaType: 'image',
  mimetype: 'image/jpeg',
  caption: 'look',
  fileName: null,
  sizeBytes: 4,
  url: null,
};

function policy(overrides: Partial<MediaDownloadPolicy> = {}) {
  const puts: { message: typeof target; bytes: Uint8Array; mimetype: string }[] = [];
  const value: MediaDownloadPolicy = {
    sink: {
      put: async (message, bytes, mimetype) => {
        puts.push({ message, bytes, mimetype });
        return { objectName: `${message.locationId}/${message.waMessageId}`, sizeBytes: bytes.length };
      },
    },
    maxBytes: 1_000,
    timeoutMs: 1_000,
    ...overrides,
  };
  return { value, puts };
}

describe('storing the media of a WhatsApp message', () => {
  it('downloads the bytes, stores them under the message, and names them in the content', async () => {
    const { value, puts } = policy();
    const content = await withStoredMedia(photo, target, async () => Buffer.from('jpeg'), value, logger);
    expect(content).toEqual({ ...photo, stored: { objectName: 'loc1/3EB0AA', sizeBytes: 4 } });
    expect(puts).toEqual([{ message: target, bytes: Buffer.from('jpeg'), mimetype: 'image/jpeg' }]);
  });

  it('does not download media WhatsApp declares larger than the limit', async () => {
    const { value, puts } = policy({ maxBytes: 3 });
    const download = jest.fn(async () => Buffer.from('jpeg'));
    expect(await withStoredMedia(photo, target, download, value, logger)).toBe(photo);
    expect(download).not.toHaveBeenCalled();
    expect(puts).toEqual([]);
  });

  it('drops bytes larger than the limit although the declared size was smaller', async () => {
    const { value, puts } = policy({ maxBytes: 5 });
    const content = await withStoredMedia(photo, target, async () => Buffer.alloc(6), value, logger);
    expect(content).toBe(photo);
    expect(puts).toEqual([]);
  });

  it('goes on without the bytes when the download fails or takes too long', async () => {
    const failing = await withStoredMedia(
      photo,
      target,
      async () => {
        throw new Error('media host unreachable');
      },
      policy().value,
      logger,
    );
    expect(failing).toBe(photo);
    const stalled = await withStoredMedia(
      photo,
      target,
      () => new Promise<Uint8Array>(() => undefined),
      policy({ timeoutMs: 50 }).value,
      logger,
    );
    expect(stalled).toBe(photo);
  });

  it('leaves text, and media already at a URL, as they are', async () => {
    const { value, puts } = policy();
    const text: MessageContent = { kind: 'text', text: 'hi' };
    const linked: MessageContent = { ...photo, url: 'https://files.example/p.jpg' };
    const download = jest.fn(async () => Buffer.from('x'));
    expect(await withStoredMedia(text, target, download, value, logger)).toBe(text);
    expect(await withStoredMedia(linked, target, download, value, logger)).toBe(linked);
    expect(download).not.toHaveBeenCalled();
    expect(puts).toEqual([]);
  });
});
