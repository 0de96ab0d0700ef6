import { Inject, Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@app/contracts';
import type { SyncConfig } from '@app/config';
import { TransientError, type HandlerContext } from '@app/messaging';
import type { Logger } from 'pino';
import { SyncResults } from '../consumers/sync-results';
import { GhlPermanentError } from '../ghl/ghl.errors';
import type { GhlMessageStatus } from '../ghl/ghl-api.client';
import { idempotencyKey, ProcessedMessageRepository } from '../idempotency/processed-message.repository';
import { GhlGateway } from '../tokens/ghl-gateway.service';
import { SYNC_CONFIG, SYNC_LOGGER } from '../sync.tokens';

/** WhatsApp receipt → GHL status, and its rank: GHL never goes backwards (read → delivered). */
const GHL_STATUS = {
  delivered: { status: 'delivered', rank: 1 },
  failed: { status: 'failed', rank: 1 },
  read: { status: 'read', rank: 2 },
  played: { status: 'read', rank: 2 },
} as const satisfies Record<string, { status: GhlMessageStatus; rank: number }>;

/**
 * A receipt can overtake the record of the send it belongs to (the send's reply and the receipt are
 * handled by different consumers); for this long a missing mapping is waited for, not skipped.
 */
const MAPPING_GRACE_MS = 30_000;
const MAPPING_RETRY_MS = 1_000;

/**
 * `message.status`: real WhatsApp receipts of messages sent for GHL → `PUT …/messages/{id}/status`
 * (delivered, read, failed with the reason). GHL answers 403 for the first seconds after a message
 * (until it is downstreamed, §4.5): that is retried with a delay, not treated as an auth failure.
 * Receipts of messages GHL did not send (typed on the phone) are skipped.
 */
@Injectable()
export class MessageStatusHandler {
  private readonly logger: Logger;

  constructor(
    private readonly gateway: GhlGateway,
    private readonly processed: ProcessedMessageRepository,
    private readonly results: SyncResults,
    @Inject(SYNC_CONFIG) private readonly config: SyncConfig,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'message-status' });
  }

  async handle(envelope: EventEnvelope<'message.status'>, ctx: HandlerContext): Promise<void> {
    const { locationId, payload } = envelope;
    if (payload.status === 'sent') {
      // GHL has no "sent" status for provider messages; delivered/read follow.
      this.logger.debug(
        { locationId, waMessageId: payload.waMessageId },
        'sent receipt; nothing to tell GHL',
      );
      return;
    }
    const target = GHL_STATUS[payload.status];
    const mapping = await this.processed.mappingByWaMessage(locationId, payload.waMessageId);
    if (!mapping || mapping.direction !== 'outbound') {
      if (!mapping && (await this.mayStillBeMapped(locationId, payload.waMessageId, payload.at))) {
        throw new TransientError('no GHL message recorded for this WhatsApp message yet', {
          retryAfterMs: MAPPING_RETRY_MS,
        });
      }
      this.logger.debug(
        { locationId, waMessageId: payload.waMessageId, status: payload.status },
        'receipt of a message GHL did not send; skipped',
      );
      return;
    }

    const { ghlMessageId } = mapping;
    await this.results.run(envelope, ctx, payload.waMessageId, async () => {
      const key = idempotencyKey.status(locationId, ghlMessageId);
      if ((await this.processed.statusRank(key)) >= target.rank) {
        await this.results.publish(envelope, 'skipped_duplicate', {
          waMessageId: payload.waMessageId,
          ghlMessageId,
          detail: `GHL already has a status at least as far as ${target.status}`,
        });
        return;
      }
      try {
        await this.gateway.call(locationId, (auth) =>
          this.gateway.api.updateMessageStatus(
            auth,
            ghlMessageId,
            target.status,
            target.status === 'failed'
              ? {
                  code: '1',
                  type: 'saas',
                  message: (payload.error ?? 'WhatsApp could not deliver the message').slice(0, 500),
                }
              : undefined,
          ),
        );
      } catch (err) {
        if (err instanceof GhlPermanentError && err.status === 403) {
          throw new TransientError(`GHL does not take status ${target.status} yet (403): ${err.ghlMessage}`, {
            retryAfterMs: this.config.GHL_STATUS_RETRY_DELAY * Math.min(ctx.deliveryCount, 5),
            cause: err,
          });
        }
        throw err;
      }
      await this.processed.raiseStatusRank(key, locationId, target.rank, ghlMessageId);
      await this.results.publish(envelope, 'applied', {
        waMessageId: payload.waMessageId,
        ghlMessageId,
        detail: target.status,
      });
    });
  }

  /** A recent receipt of a message that is not a mirrored phone message may be waiting for its mapping. */
  private async mayStillBeMapped(locationId: string, waMessageId: string, at: string): Promise<boolean> {
    if (Date.now() - Date.parse(at) > MAPPING_GRACE_MS) return false;
    return (await this.processed.get(idempotencyKey.mirror(locationId, waMessageId))) === null;
  }
}
