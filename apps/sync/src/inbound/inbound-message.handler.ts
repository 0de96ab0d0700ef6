import { Inject, Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@app/contracts';
import type { HandlerContext } from '@app/messaging';
import type { Logger } from 'pino';
import { SyncResults } from '../consumers/sync-results';
import { idempotencyKey } from '../idempotency/processed-message.repository';
import { SYNC_LOGGER } from '../sync.tokens';
import { GhlMessageWriter } from './ghl-message.writer';
import { isDirectChat } from './message-content';

/** `message.inbound`: a contact wrote on WhatsApp → contact upsert → conversation → inbound GHL message. */
@Injectable()
export class InboundMessageHandler {
  private readonly logger: Logger;

  constructor(
    private readonly writer: GhlMessageWriter,
    private readonly results: SyncResults,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'inbound-message' });
  }

  async handle(envelope: EventEnvelope<'message.inbound'>, ctx: HandlerContext): Promise<void> {
    const { locationId, payload } = envelope;
    if (!isDirectChat(payload.chatJid)) {
      this.logger.debug({ locationId, chatJid: payload.chatJid }, 'not a one-to-one chat; not synced');
      return;
    }
    await this.results.run(envelope, ctx, payload.waMessageId, async () => {
      await this.writer.write({
        locationId,
        key: idempotencyKey.inbound(locationId, payload.waMessageId),
        waMessageId: payload.waMessageId,
        phone: payload.from.phone,
        pushName: payload.from.pushName,
        sentAt: payload.sentAt,
        content: payload.content,
        direction: 'inbound',
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
