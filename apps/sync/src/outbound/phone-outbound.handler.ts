import { Inject, Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@app/contracts';
import type { HandlerContext } from '@app/messaging';
import type { Logger } from 'pino';
import { SyncResults } from '../consumers/sync-results';
import { idempotencyKey, ProcessedMessageRepository } from '../idempotency/processed-message.repository';
import { GhlMessageWriter } from '../inbound/ghl-message.writer';
import { isDirectChat } from '../inbound/message-content';
import { SYNC_LOGGER } from '../sync.tokens';
import { GHL_CLIENT_MESSAGE_PREFIX } from './ghl-outbound.handler';

/**
 * `message.outbound`:
 * - typed on the phone (`origin: phone`) → mirrored into the GHL conversation as an outbound message
 *   through the inbound endpoint, which records it without sending it (no provider webhook, no loop);
 * - sent by us for GHL (`origin: bridge`) → already in GHL; only the GHL ↔ WhatsApp mapping is
 *   recorded (in case the send command's reply was lost), so receipts find the GHL message.
 */
@Injectable()
export class PhoneOutboundHandler {
  private readonly logger: Logger;

  constructor(
    private readonly writer: GhlMessageWriter,
    private readonly processed: ProcessedMessageRepository,
    private readonly results: SyncResults,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'phone-outbound' });
  }

  async handle(envelope: EventEnvelope<'message.outbound'>, ctx: HandlerContext): Promise<void> {
    const { locationId, payload } = envelope;
    if (payload.origin === 'bridge') {
      const ghlMessageId = ghlMessageIdOf(payload.clientMessageId);
      if (ghlMessageId) {
        await this.processed.map({
          locationId,
          waMessageId: payload.waMessageId,
          ghlMessageId,
          direction: 'outbound',
        });
      }
      return;
    }
    if (!isDirectChat(payload.chatJid)) {
      this.logger.debug({ locationId, chatJid: payload.chatJid }, 'not a one-to-one chat; not mirrored');
      return;
    }
    await this.results.run(envelope, ctx, payload.waMessageId, async () => {
      await this.writer.write({
        locationId,
        key: idempotencyKey.mirror(locationId, payload.waMessageId),
        waMessageId: payload.waMessageId,
        phone: payload.to.phone,
        pushName: payload.to.pushName,
        sentAt: payload.sentAt,
        content: payload.content,
        direction: 'outbound',
        announce: (result) =>
          this.results.publish(envelope, result.outcome, {
            waMessageId: payload.waMessageId,
            ghlMessageId: result.ghlMessageId,
            detail: result.detail,
          }),
      });
    });
  }
}

/** `ghl:<ghlMessageId>` (or `ghl:<id>:<part>`) → the GHL message id; null for other client ids. */
export function ghlMessageIdOf(clientMessageId: string | null): string | null {
  if (!clientMessageId?.startsWith(GHL_CLIENT_MESSAGE_PREFIX)) return null;
  const rest = clientMessageId.slice(GHL_CLIENT_MESSAGE_PREFIX.length);
  // Parts after the first are extra attachments; the mapping follows the first part only.
  return rest.includes(':') ? null : rest || null;
}
