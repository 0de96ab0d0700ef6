import { Inject, Injectable } from '@nestjs/common';
import { MediaStore } from '@app/messaging';
import type { Logger } from 'pino';
import { GhlPermanentError } from '../ghl/ghl.errors';
import { GhlGateway } from '../tokens/ghl-gateway.service';
import { SYNC_LOGGER } from '../sync.tokens';
import { attachmentFileName, type MediaContent } from './attachment-file';

export interface AttachmentTarget {
  locationId: string;
  contactId: string;
  conversationId: string;
  waMessageId: string;
}

/**
 * WhatsApp media into GHL attachments: the bytes the session worker stored (`content.stored`) are
 * uploaded to the conversation (`POST /conversations/messages/upload`) and the message carries the
 * URL GHL gives back. Media GHL does not take (its type list, its size limit) or whose bytes are gone
 * (expired before the sync got to it) is not an error: the message then says what was sent.
 */
@Injectable()
export class MediaAttachments {
  private readonly logger: Logger;

  constructor(
    private readonly gateway: GhlGateway,
    private readonly media: MediaStore,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'media-attachments' });
  }

  /** The GHL URL of the media's bytes, or null when it cannot be attached. Throws what may pass (retry). */
  async upload(content: MediaContent, target: AttachmentTarget): Promise<string | null> {
    if (!content.stored) return null;
    const fileName = attachmentFileName(content, target.waMessageId);
    const fields = { locationId: target.locationId, waMessageId: target.waMessageId };
    if (!fileName) {
      this.logger.debug({ ...fields, mimetype: content.mimetype }, 'GHL does not take this media type');
      return null;
    }
    const bytes = await this.media.get(content.stored.objectName);
    if (!bytes) {
      this.logger.warn({ ...fields, objectName: content.stored.objectName }, 'media bytes no longer stored');
      return null;
    }
    try {
      return await this.gateway.call(target.locationId, (auth) =>
        this.gateway.api.uploadAttachment(auth, target, { fileName, mimetype: content.mimetype, bytes }),
      );
    } catch (err) {
      if (!(err instanceof GhlPermanentError)) throw err;
      // 413/415 are GHL's "not this file"; any other refusal of the upload must not lose the message.
      this.logger[err.status === 413 || err.status === 415 ? 'info' : 'warn'](
        { ...fields, status: err.status, answer: err.body, sizeBytes: bytes.length },
        'GHL refused the media upload; the message says what was sent instead',
      );
      return null;
    }
  }

  /** Drops the stored bytes once the message is in GHL (they expire anyway; this frees them early). */
  release(content: MediaContent): void {
    if (!content.stored) return;
    const { objectName } = content.stored;
    this.media
      .delete(objectName)
      .catch((err: unknown) => this.logger.debug({ err, objectName }, 'could not delete used media bytes'));
  }
}
