import { Inject, Injectable } from '@nestjs/common';
import type { MessageContent } from '@app/contracts';
import type { SyncConfig } from '@app/config';
import { PermanentError, TransientError } from '@app/messaging';
import type { Logger } from 'pino';
import { GhlContactResolver } from '../contacts/ghl-contact.resolver';
import { GhlPermanentError, GhlTransientError } from '../ghl/ghl.errors';
import type { GhlMessage } from '../ghl/ghl-api.schemas';
import {
  ProcessedMessageRepository,
  type MappingInput,
  type ProcessedRecord,
} from '../idempotency/processed-message.repository';
import { MediaAttachments } from '../media/media-attachments.service';
import { GhlGateway } from '../tokens/ghl-gateway.service';
import { SYNC_CONFIG, SYNC_LOGGER } from '../sync.tokens';
import { ghlMessageBody } from './message-content';

/** One WhatsApp message to put into its GHL conversation. */
export interface WaMessageToWrite {
  locationId: string;
  /** Idempotency key (`idempotencyKey.inbound` / `.mirror`). */
  key: string;
  waMessageId: string;
  /** The other party of the chat: the GHL contact. */
  phone: string | null;
  pushName: string | null;
  sentAt: string;
  content: MessageContent;
  /** `inbound`: the contact wrote it; `outbound`: typed on the linked phone (a mirror, §4.2 direction). */
  direction: 'inbound' | 'outbound';
  /** Publishes the result (`ghl.sync_result`), while it is recorded. */
  announce: (result: WriteResult) => Promise<void>;
}

export interface WriteResult {
  outcome: 'applied' | 'skipped_duplicate';
  ghlMessageId: string | null;
  detail: string | null;
}

/** Pages of a conversation read to find a message written by an attempt that died unanswered. */
const RECONCILE_PAGES = 5;
const RECONCILE_PAGE_SIZE = 100;
// Past the longest a crashed attempt's request can still be in flight, GHL's state is final for it.
const IN_FLIGHT_MARGIN_MS = 5_000;

/**
 * Writes a WhatsApp message into GHL exactly once: contact (by E.164 phone) → conversation → message
 * via the inbound endpoint, with `altId` = the WhatsApp message id and `date` = the original time. The
 * inbound endpoint only records a message, so a mirrored outbound message triggers no provider webhook.
 *
 * Exactly once: a `pending` intent is written before the GHL call and the result after it (with the
 * GHL ↔ WhatsApp mapping, in one statement). A redelivery that finds the result skips. One that finds
 * an intent waits until the earlier attempt's call cannot be in flight any more, then reads the
 * conversation in GHL and adopts the message if it is there, so a crash between GHL's answer and the
 * ack never produces a second message.
 */
@Injectable()
export class GhlMessageWriter {
  private readonly inFlightHorizonMs: number;
  private readonly providerId: string | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly gateway: GhlGateway,
    private readonly contacts: GhlContactResolver,
    private readonly processed: ProcessedMessageRepository,
    private readonly media: MediaAttachments,
    @Inject(SYNC_CONFIG) config: SyncConfig,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.inFlightHorizonMs = config.GHL_REQUEST_TIMEOUT + IN_FLIGHT_MARGIN_MS;
    this.providerId = config.GHL_CONVERSATION_PROVIDER_ID;
    this.logger = logger.child({ component: 'ghl-message-writer' });
  }

  async write(input: WaMessageToWrite): Promise<WriteResult> {
    const { locationId, key, phone } = input;
    if (phone === null) {
      // WhatsApp gave only a LID: GHL contacts are keyed by phone, so there is nothing to attach it to.
      throw new PermanentError(
        'the WhatsApp party has no phone number (LID only)',
        `waMessageId ${input.waMessageId}`,
      );
    }
    // Fails fast, before any intent is written, when the location waits for a re-install or for a
    // rate-limit slot (the common case of a retried event under a burst).
    const kind = await this.gateway.tokenKind(locationId);
    this.gateway.precheckRateLimit(locationId);

    const begun = await this.processed.begin(key, locationId);
    /** The media URL an earlier attempt uploaded (and may have written the message with). */
    let uploaded: string | undefined;
    if (!begun.fresh) {
      const { record } = begun;
      switch (record.state) {
        case 'done':
          return this.finish(input, null, {
            outcome: 'skipped_duplicate',
            ghlMessageId: record.ghlMessageId,
            detail: record.detail ?? null,
          });
        case 'send_failed':
          throw new PermanentError(`recorded as failed: ${record.reason}`);
        case 'pending': {
          if (begun.ageMs < this.inFlightHorizonMs) {
            throw new TransientError('an earlier attempt may still be writing this message to GHL', {
              retryAfterMs: this.inFlightHorizonMs - begun.ageMs + 100,
            });
          }
          uploaded = record.attachment;
          const adopted = await this.reconcile(input, phone, uploaded);
          if (adopted) return adopted;
          await this.processed.updatePending(key, {
            state: 'pending',
            attemptAt: Date.now(),
            ...(uploaded ? { attachment: uploaded } : {}),
          });
          break;
        }
      }
    }

    let posted = false;
    let written = false;
    try {
      const contact = await this.contacts.contactFor(
        locationId,
        { phone, pushName: input.pushName },
        { useName: input.direction === 'inbound' },
      );
      if (kind === 'private_integration') {
        // A Private Integration token cannot write to a conversation provider (GHL-CONTRACT §9).
        const detail = 'contact synced; messages need the marketplace app (Private Integration token)';
        return await this.finish(
          input,
          { record: { state: 'done', ghlMessageId: null, detail } },
          { outcome: 'applied', ghlMessageId: null, detail },
        );
      }
      const conversationId = await this.contacts.conversationFor(locationId, phone, contact);
      if (!uploaded && input.content.kind === 'media' && input.content.stored) {
        const url = await this.media.upload(input.content, {
          locationId,
          contactId: contact.contactId,
          conversationId,
          waMessageId: input.waMessageId,
        });
        if (url) {
          // Recorded before the message is written, so a retry writes (and recognises) the same URL.
          await this.processed.updatePending(key, {
            state: 'pending',
            attemptAt: Date.now(),
            attachment: url,
          });
          uploaded = url;
        }
      }
      posted = true;
      const message = await this.gateway.call(locationId, (auth) =>
        this.gateway.api.addInboundMessage(auth, {
          type: 'SMS',
          contactId: contact.contactId,
          conversationId,
          ...(this.providerId ? { conversationProviderId: this.providerId } : {}),
          ...ghlMessageBody(input.content, uploaded),
          altId: input.waMessageId,
          direction: input.direction,
          date: input.sentAt,
        }),
      );
      written = true;
      return await this.finish(
        input,
        {
          record: { state: 'done', ghlMessageId: message.messageId, conversationId: message.conversationId },
          ghlMessageId: message.messageId,
        },
        { outcome: 'applied', ghlMessageId: message.messageId, detail: null },
      );
    } catch (err) {
      if (!written && (!posted || !mayHaveBeenApplied(err))) {
        // GHL certainly wrote nothing: the next attempt may go at once instead of reconciling. (Once GHL
        // answered with the message, the intent stays, so a result that failed to be recorded is
        // reconciled, never written twice.)
        await this.processed
          .clearPending(key)
          .catch((clearError: unknown) =>
            this.logger.warn({ err: clearError, key }, 'could not clear a pending intent'),
          );
      }
      if (
        !written &&
        err instanceof GhlPermanentError &&
        err.status === 400 &&
        /not found/i.test(err.ghlMessage)
      ) {
        // The cached contact or conversation was deleted in GHL: look them up again on the retry.
        await this.contacts.forget(locationId, phone);
        throw new TransientError(`GHL no longer knows the cached contact/conversation: ${err.ghlMessage}`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /**
   * Records the result (with the mapping of an inbound message; mirrored phone messages are not
   * mapped, their receipts are not GHL's to show) and announces it, at the same time: the two are
   * independent, and one round trip less per event matters on a busy chat.
   */
  private async finish(
    input: WaMessageToWrite,
    done: { record: Extract<ProcessedRecord, { state: 'done' }>; ghlMessageId?: string } | null,
    result: WriteResult,
  ): Promise<WriteResult> {
    const mapping: MappingInput | undefined =
      done?.ghlMessageId && input.direction === 'inbound'
        ? {
            locationId: input.locationId,
            waMessageId: input.waMessageId,
            ghlMessageId: done.ghlMessageId,
            direction: 'inbound',
          }
        : undefined;
    await Promise.all([
      done ? this.processed.complete(input.key, input.locationId, done.record, mapping) : undefined,
      input.announce(result),
    ]);
    if (done && input.content.kind === 'media') this.media.release(input.content);
    return result;
  }

  /** Looks for the message in its GHL conversation; adopts it (records it as done) when found. */
  private async reconcile(
    input: WaMessageToWrite,
    phone: string,
    uploaded: string | undefined,
  ): Promise<WriteResult | null> {
    const { locationId } = input;
    const contact = await this.contacts.contactFor(locationId, { phone, pushName: null }, { useName: false });
    if (!contact.conversationId) return null;
    const conversationId = contact.conversationId;
    let lastMessageId: string | undefined;
    for (let page = 0; page < RECONCILE_PAGES; page++) {
      const list = await this.gateway.call(locationId, (auth) =>
        this.gateway.api.listMessages(auth, conversationId, { lastMessageId, limit: RECONCILE_PAGE_SIZE }),
      );
      const found = list.messages.find((m) => isSameMessage(m, input, uploaded));
      if (found) {
        this.logger.info(
          { locationId, waMessageId: input.waMessageId, ghlMessageId: found.id },
          'adopted a message an interrupted attempt had written to GHL',
        );
        const detail = 'reconciled after an interrupted attempt';
        return this.finish(
          input,
          {
            record: { state: 'done', ghlMessageId: found.id, conversationId, detail },
            ghlMessageId: found.id,
          },
          { outcome: 'applied', ghlMessageId: found.id, detail },
        );
      }
      if (!list.nextPage || !list.lastMessageId) return null;
      lastMessageId = list.lastMessageId;
    }
    return null;
  }
}

/**
 * Whether a failed call may still have written the message: no answer, or a 5xx. An answered 4xx,
 * 401 or 429 wrote nothing.
 */
function mayHaveBeenApplied(err: unknown): boolean {
  return err instanceof GhlTransientError && err.ambiguous;
}

/**
 * Our message in GHL's list: by `altId` when GHL shows it (the spec's message schema does not list
 * it), else by what the spec does list and we wrote: direction, the original date and the body.
 */
export function isSameMessage(
  message: GhlMessage,
  input: Pick<WaMessageToWrite, 'waMessageId' | 'direction' | 'sentAt' | 'content'>,
  uploaded?: string,
): boolean {
  if (typeof message.altId === 'string' && message.altId !== '') return message.altId === input.waMessageId;
  if (message.direction !== undefined && message.direction !== input.direction) return false;
  const written = message.dateAdded ? Date.parse(message.dateAdded) : NaN;
  if (written !== Date.parse(input.sentAt)) return false;
  const expected = ghlMessageBody(input.content, uploaded);
  if ((message.body ?? '') !== (expected.message ?? '')) return false;
  const attachments = message.attachments ?? [];
  return (expected.attachments ?? []).every((url) => attachments.includes(url));
}
