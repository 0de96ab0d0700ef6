import { Inject, Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@app/contracts';
import type { SyncConfig } from '@app/config';
import { EventBus, PermanentError, TransientError, describeError, type HandlerContext } from '@app/messaging';
import type { Logger } from 'pino';
import { GhlError, type AnyGhlError } from '../ghl/ghl.errors';
import { withJitter } from '../rate-limit/rate-limit.policy';
import { noteSyncOutcome } from '../replay/replay-outcome.reporter';
import { LocationBlockedError } from '../tokens/token.errors';
import { SYNC_CONFIG, SYNC_LOGGER } from '../sync.tokens';

export type SyncOutcome = 'applied' | 'skipped_duplicate' | 'failed';

export interface SyncResultFields {
  waMessageId: string | null;
  ghlMessageId: string | null;
  detail?: string | null;
}

/** The dead-letter reason of a location that waits for a new install (the wording). */
export const REAUTH_DEAD_LETTER_REASON = 'GHL re-authorisation required';

/**
 * Publishes `ghl.sync_result` (caused by the event it is about, for the debugging timeline) and turns
 * any failure into the consumer's settlement: TransientError (retry with a delay) or PermanentError
 * (dead-letter now), publishing a `failed` result when the event will not be retried.
 */
@Injectable()
export class SyncResults {
  private readonly logger: Logger;

  constructor(
    private readonly bus: EventBus,
    @Inject(SYNC_CONFIG) private readonly config: SyncConfig,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'sync-results' });
  }

  async publish(source: EventEnvelope, outcome: SyncOutcome, fields: SyncResultFields): Promise<void> {
    // A replay run learns of a skip from its own report; one stored result per replayed event that was
    // already in GHL would only bury the location's timeline (and cost a write per event).
    if (noteSyncOutcome(outcome, fields) && outcome === 'skipped_duplicate') return;
    await this.bus.publish(
      'ghl.sync_result',
      source.locationId,
      {
        sourceEventId: source.id,
        sourceEventType: source.type,
        waMessageId: fields.waMessageId,
        ghlMessageId: fields.ghlMessageId,
        outcome,
        detail: fields.detail?.slice(0, 1000) ?? null,
      },
      // An applied result is stored once even when the handler runs again after a lost ack.
      { causedBy: source, ...(outcome === 'applied' ? { id: `ghl-sync:${source.id}` } : {}) },
    );
  }

  /** Runs one event's work; on failure decides the settlement and reports a final failure. */
  async run(
    source: EventEnvelope,
    ctx: HandlerContext,
    waMessageId: string | null,
    work: () => Promise<void>,
  ) {
    try {
      await work();
    } catch (err) {
      const settled = this.settlementError(err, ctx);
      if (settled instanceof PermanentError || ctx.isFinalDelivery) {
        const detail =
          settled instanceof PermanentError && settled.detail
            ? `${settled.message}: ${settled.detail}`
            : describeError(settled);
        try {
          await this.publish(source, 'failed', { waMessageId, ghlMessageId: null, detail });
        } catch (publishError) {
          this.logger.warn(
            { err: publishError, eventId: source.id },
            'could not publish the failed sync result',
          );
        }
      }
      throw settled;
    }
  }

  /** Maps what a handler threw to what the consumer runner settles on. */
  settlementError(err: unknown, ctx: Pick<HandlerContext, 'isFinalDelivery'>): Error {
    if (err instanceof TransientError || err instanceof PermanentError) return err;
    if (err instanceof LocationBlockedError) {
      if (ctx.isFinalDelivery) {
        return new PermanentError(
          err.blockedBy === 'reauth_required' ? REAUTH_DEAD_LETTER_REASON : err.message,
          err.message,
          { cause: err },
        );
      }
      // A person has to act (re-install, reactivate): come back much later, do not spin.
      return new TransientError(err.message, {
        retryAfterMs: this.config.GHL_REAUTH_RETRY_DELAY,
        cause: err,
      });
    }
    if (err instanceof GhlError) {
      const ghl = err as AnyGhlError;
      switch (ghl.kind) {
        case 'rate_limited':
          return new TransientError(ghl.message, {
            retryAfterMs: withJitter(ghl.retryAfterMs, ghl.rateLimit?.intervalMs ?? ghl.retryAfterMs),
            cause: ghl,
          });
        case 'transient':
        case 'token_invalid':
          return new TransientError(ghl.message, { cause: ghl });
        case 'permanent':
          return new PermanentError(`GHL refused ${ghl.endpoint} (${ghl.status})`, ghl.body, { cause: ghl });
      }
    }
    return err instanceof Error ? err : new Error(describeError(err));
  }
}
