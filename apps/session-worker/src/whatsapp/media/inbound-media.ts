import type { MessageContent, StoredMedia } from '@app/contracts';
import type { Logger } from 'pino';

/** Where downloaded media bytes go: the bus's media object store (`MediaStore`) in the app. */
export interface MediaSink {
  put(
    message: { locationId: string; waMessageId: string },
    bytes: Uint8Array,
    mimetype: string,
  ): Promise<StoredMedia>;
}

export interface MediaDownloadPolicy {
  sink: MediaSink;
  /** Larger media is not downloaded (0: none is). Checked against the size WhatsApp declares, then the bytes. */
  maxBytes: number;
  /** Bound on one download plus its store; past it the message goes on without the bytes. */
  timeoutMs: number;
}

/**
 * Downloads a media message's bytes and stores them beside the bus, so the sync can attach them in
 * GHL: the content then names the stored object (`stored`). Anything that goes wrong (too large,
 * WhatsApp's media server unreachable, a slow store) leaves the content as it was, metadata only: the
 * message is never held back or lost for its media.
 */
export async function withStoredMedia(
  content: MessageContent,
  target: { locationId: string; waMessageId: string },
  download: () => Promise<Uint8Array>,
  policy: MediaDownloadPolicy,
  logger: Logger,
): Promise<MessageContent> {
  if (content.kind !== 'media' || content.url || content.stored) return content;
  const fields = {
    locationId: target.locationId,
    waMessageId: target.waMessageId,
    mediaType: content.mediaType,
  };
  if (content.sizeBytes !== null && content.sizeBytes > policy.maxBytes) {
    logger.info(
      { ...fields, sizeBytes: content.sizeBytes },
      'media larger than MEDIA_MAX_BYTES; not downloaded',
    );
    return content;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const stored = await Promise.race([
      (async () => {
        const bytes = await download();
        if (bytes.length > policy.maxBytes)
          throw new Error(`media of ${bytes.length} bytes exceeds MEDIA_MAX_BYTES`);
        return policy.sink.put(target, bytes, content.mimetype);
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no media within ${policy.timeoutMs} ms`)),
          policy.timeoutMs,
        );
      }),
    ]);
    return { ...content, stored };
  } catch (err) {
    logger.warn({ ...fields, err }, 'media not stored; the message goes on without its bytes');
    return content;
  } finally {
    clearTimeout(timer);
  }
}
