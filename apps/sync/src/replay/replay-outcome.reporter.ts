import { AsyncLocalStorage } from 'node:async_hooks';
import { Inject, Injectable } from '@nestjs/common';
import {
  REPLAY_HEADERS,
  replayRunIdSchema,
  type EventEnvelope,
  type ReplayOutcomeKind,
} from '@app/contracts';
import {
  classifyFailure,
  PermanentError,
  ReplayOutcomeChannel,
  type EventHandler,
  type HandlerContext,
} from '@app/messaging';
import type { Logger } from 'pino';
import type { SyncOutcome, SyncResultFields } from '../consumers/sync-results';
import { SYNC_LOGGER } from '../sync.tokens';

interface Announced {
  outcome: SyncOutcome;
  ghlMessageId: string | null;
  detail: string | null;
}

/** The result a handler announced (`ghl.sync_result`) while handling the replayed event in scope. */
const scope = new AsyncLocalStorage<{ announced?: Announced }>();

/**
 * Called where sync announces a result, so a replay can report the same outcome to its tool. True when
 * a replay run is waiting for it (the event carries a run).
 */
export function noteSyncOutcome(outcome: SyncOutcome, fields: SyncResultFields): boolean {
  const current = scope.getStore();
  if (current) {
    current.announced = { outcome, ghlMessageId: fields.ghlMessageId, detail: fields.detail ?? null };
  }
  return current !== undefined;
}

const NOTHING_TO_WRITE = 'nothing to write to GHL for this event';

/**
 * Tells the replay tool what became of each replayed event (`replay-outcome.<runId>`): `applied` or
 * `skipped` as the handler announced it (`skipped` also when the event needs no GHL write), `failed`
 * with the reason when the event will not be tried again, `retrying` with the reason when it will.
 * Events replayed without a run (no `Replay-Run` header) are handled silently.
 */
@Injectable()
export class ReplayOutcomeReporter {
  private readonly logger: Logger;

  constructor(
    private readonly channel: ReplayOutcomeChannel,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'replay-outcomes' });
  }

  wrap(handler: EventHandler): EventHandler {
    return async (envelope, ctx) => {
      const runId = ctx.header(REPLAY_HEADERS.run);
      const key = ctx.header(REPLAY_HEADERS.key);
      if (!runId || !key || !replayRunIdSchema.safeParse(runId).success) return handler(envelope, ctx);
      const state: { announced?: Announced } = {};
      try {
        await scope.run(state, () => handler(envelope, ctx));
      } catch (err) {
        const final = err instanceof PermanentError || ctx.isFinalDelivery;
        this.report(runId, key, envelope, ctx, final ? 'failed' : 'retrying', {
          detail: classifyFailure(err).reason,
          ghlMessageId: null,
        });
        throw err;
      }
      const announced = state.announced;
      this.report(runId, key, envelope, ctx, announced ? kindOf(announced.outcome) : 'skipped', {
        detail: announced ? announced.detail : NOTHING_TO_WRITE,
        ghlMessageId: announced?.ghlMessageId ?? null,
      });
    };
  }

  private report(
    runId: string,
    key: string,
    envelope: EventEnvelope,
    ctx: HandlerContext,
    outcome: ReplayOutcomeKind,
    fields: { detail: string | null; ghlMessageId: string | null },
  ): void {
    try {
      this.channel.publish({
        runId,
        key: key.slice(0, 200),
        eventId: envelope.id,
        eventType: envelope.type,
        locationId: envelope.locationId,
        outcome,
        detail: fields.detail?.slice(0, 1000) ?? null,
        ghlMessageId: fields.ghlMessageId,
        deliveryCount: ctx.deliveryCount,
      });
    } catch (err) {
      // The event's handling stands; only the tool's report of it is lost (it says so).
      this.logger.warn({ err, runId, eventId: envelope.id }, 'could not report a replay outcome');
    }
  }
}

function kindOf(outcome: SyncOutcome): ReplayOutcomeKind {
  switch (outcome) {
    case 'applied':
      return 'applied';
    case 'skipped_duplicate':
      return 'skipped';
    case 'failed':
      return 'failed';
  }
}
