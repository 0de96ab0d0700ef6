import { Inject, Injectable } from '@nestjs/common';
import { e164Schema, MEDIA_KINDS, type EventEnvelope, type MessageContent } from '@app/contracts';
import type { SyncConfig } from '@app/config';
import {
  CommandBus,
  CommandError,
  PermanentError,
  TransientError,
  type HandlerContext,
} from '@app/messaging';
import type { Logger } from 'pino';
import { GhlContactResolver } from '../contacts/ghl-contact.resolver';
import { SyncResults } from '../consumers/sync-results';
import { GhlPermanentError } from '../ghl/ghl.errors';
import { idempotencyKey, ProcessedMessageRepository } from '../idempotency/processed-message.repository';
import { GhlGateway } from '../tokens/ghl-gateway.service';
import { SYNC_CONFIG, SYNC_LOGGER } from '../sync.tokens';

/** Send commands for GHL messages carry `ghl:<ghlMessageId>`: the session worker sends one message per id. */
export const GHL_CLIENT_MESSAGE_PREFIX = 'ghl:';

// Covers a worker that is reconnecting its socket; the command is idempotent, so a retry is safe.
const SEND_TIMEOUT_MS = 15_000;

const MIME_BY_EXTENSION: Record<string, { mediaType: (typeof MEDIA_KINDS)[number]; mimetype: string }> = {
  jpg: { mediaType: 'image', mimetype: 'image/jpeg' },
  jpeg: { mediaType: 'image', mimetype: 'image/jpeg' },
  png: { mediaType: 'image', mimetype: 'image/png' },
  gif: { mediaType: 'image', mimetype: 'image/gif' },
  webp: { mediaType: 'image', mimetype: 'image/webp' },
  mp4: { mediaType: 'video', mimetype: 'video/mp4' },
  mpeg: { mediaType: 'video', mimetype: 'video/mpeg' },
  mp3: { mediaType: 'audio', mimetype: 'audio/mpeg' },
  wav: { mediaType: 'audio', mimetype: 'audio/wav' },
  ogg: { mediaType: 'audio', mimetype: 'audio/ogg' },
  pdf: { mediaType: 'document', mimetype: 'application/pdf' },
};

/** A GHL outbound message as WhatsApp messages: the text, then one media message per attachment URL. */
export function whatsAppParts(message: string | null, attachments: readonly string[]): MessageContent[] {
  const parts: MessageContent[] = [];
  if (message && message.trim() !== '') parts.push({ kind: 'text', text: message });
  for (const url of attachments) {
    const path = new URL(url).pathname;
    const fileName = decodedName(path.split('/').pop() ?? '') || null;
    const extension = fileName?.split('.').pop()?.toLowerCase() ?? '';
    const known = MIME_BY_EXTENSION[extension] ?? {
      mediaType: 'document' as const,
      mimetype: 'application/octet-stream',
    };
    parts.push({ kind: 'media', ...known, caption: null, fileName, sizeBytes: null, url });
  }
  return parts;
}

/**
 * A URL's last path segment as a file name. A malformed escape (`%ZZ`, a cut UTF-8 sequence) keeps the
 * segment as it is: the URL is still valid, and throwing here would retry the message for nothing.
 */
function decodedName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * `ghl.outbound_requested` (GHL's ProviderOutboundMessage, put on the bus by the api): resolve the
 * phone, ask the session's owner to send it over WhatsApp, and record GHL message id ↔ WhatsApp
 * message id. GHL's status then follows real receipts (see MessageStatusHandler), never the send.
 *
 * A session that is down (`no_responder`, `not_connected`, ...) is retried with backoff; a refusal
 * that retrying cannot fix (`invalid_phone`, ...) is reported to GHL as `failed` with the reason and
 * dead-lettered.
 */
@Injectable()
export class GhlOutboundHandler {
  private readonly logger: Logger;

  constructor(
    private readonly commands: CommandBus,
    private readonly gateway: GhlGateway,
    private readonly contacts: GhlContactResolver,
    private readonly processed: ProcessedMessageRepository,
    private readonly results: SyncResults,
    @Inject(SYNC_CONFIG) private readonly config: SyncConfig,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'ghl-outbound' });
  }

  async handle(envelope: EventEnvelope<'ghl.outbound_requested'>, ctx: HandlerContext): Promise<void> {
    const { locationId, payload } = envelope;
    const { ghlMessageId } = payload;
    const key = idempotencyKey.ghlOutbound(locationId, ghlMessageId);
    await this.results.run(envelope, ctx, null, async () => {
      const known = await this.processed.get(key);
      if (known?.record.state === 'done') {
        await this.results.publish(envelope, 'skipped_duplicate', {
          waMessageId: known.record.waMessageId ?? null,
          ghlMessageId,
          detail: known.record.detail ?? null,
        });
        return;
      }
      if (known?.record.state === 'send_failed') {
        await this.failInGhl(envelope, ctx, key, known.record.reason);
        return;
      }

      const phone = await this.phoneFor(locationId, payload.phone, payload.contactId);
      if (!phone) {
        await this.failInGhl(envelope, ctx, key, 'the GHL contact has no valid phone number');
        return;
      }
      const parts = whatsAppParts(payload.message, payload.attachments);
      if (parts.length === 0) {
        await this.failInGhl(envelope, ctx, key, 'the GHL message has neither text nor attachments');
        return;
      }

      let firstWaMessageId: string | null = null;
      for (const [index, content] of parts.entries()) {
        const clientMessageId = `${GHL_CLIENT_MESSAGE_PREFIX}${ghlMessageId}${index === 0 ? '' : `:${index}`}`;
        let sent;
        try {
          sent = await this.commands.request(
            'session.send',
            locationId,
            { to: phone, clientMessageId, content },
            { timeoutMs: SEND_TIMEOUT_MS, meta: { causedBy: envelope } },
          );
        } catch (err) {
          if (!(err instanceof CommandError)) throw err;
          const reason = await this.sendFailure(err, ctx);
          await this.failInGhl(envelope, ctx, key, reason);
          return;
        }
        firstWaMessageId ??= sent.waMessageId;
      }

      await this.processed.complete(
        key,
        locationId,
        { state: 'done', ghlMessageId, waMessageId: firstWaMessageId },
        { locationId, waMessageId: firstWaMessageId!, ghlMessageId, direction: 'outbound' },
      );
      await this.results.publish(envelope, 'applied', {
        waMessageId: firstWaMessageId,
        ghlMessageId,
        detail: null,
      });
    });
  }

  /**
   * A send that failed: throws TransientError when a later attempt can succeed (and this is not the
   * last delivery); otherwise returns the reason to report to GHL.
   */
  private async sendFailure(err: CommandError, ctx: HandlerContext): Promise<string> {
    const reason = `WhatsApp send failed (${err.code}): ${err.message}`;
    switch (err.code) {
      case 'no_responder':
      case 'not_connected':
      case 'session_not_running':
      case 'not_owner':
      case 'timeout':
      case 'capacity_exhausted':
      case 'upstream_error':
        if (!ctx.isFinalDelivery) throw new TransientError(reason, { cause: err });
        return `${reason} (gave up after ${ctx.deliveryCount} attempts)`;
      case 'invalid_phone':
      case 'invalid_request':
      case 'unknown_location':
      case 'internal':
        return reason;
    }
  }

  /**
   * Tells GHL the message failed, with the reason, then dead-letters the event. Remembers the failure
   * first, so a retry (GHL refuses status updates for the first seconds) does not send again.
   */
  private async failInGhl(
    envelope: EventEnvelope<'ghl.outbound_requested'>,
    ctx: HandlerContext,
    key: string,
    reason: string,
  ): Promise<never> {
    const { locationId, payload } = envelope;
    await this.processed.put(key, locationId, { state: 'send_failed', reason });
    try {
      await this.gateway.call(locationId, (auth) =>
        this.gateway.api.updateMessageStatus(auth, payload.ghlMessageId, 'failed', {
          code: '1',
          type: 'saas',
          message: reason.slice(0, 500),
        }),
      );
    } catch (err) {
      if (err instanceof GhlPermanentError && err.status === 403 && !ctx.isFinalDelivery) {
        // GHL refuses status changes until the message is downstreamed (5-10 s, GHL-CONTRACT §4.5).
        throw new TransientError('GHL does not take the failed status yet (403)', {
          retryAfterMs: this.config.GHL_STATUS_RETRY_DELAY * Math.min(ctx.deliveryCount, 5),
          cause: err,
        });
      }
      throw err;
    }
    await this.processed.complete(key, locationId, {
      state: 'done',
      ghlMessageId: payload.ghlMessageId,
      waMessageId: null,
      detail: `failed: ${reason}`,
    });
    this.logger.warn(
      { locationId, ghlMessageId: payload.ghlMessageId, reason },
      'GHL outbound message failed',
    );
    throw new PermanentError('the GHL message could not be sent over WhatsApp', reason);
  }

  private async phoneFor(
    locationId: string,
    given: string | null,
    contactId: string,
  ): Promise<string | null> {
    const phone = given ?? (await this.contacts.phoneOfContact(locationId, contactId));
    return phone && e164Schema.safeParse(phone).success ? phone : null;
  }
}
