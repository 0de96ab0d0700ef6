import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { SUBJECT_ROOTS, type EventEnvelope } from '@app/contracts';
import type { SyncConfig } from '@app/config';
import { ConsumerRunnerFactory, STREAMS, type ConsumerRunner, type HandlerContext } from '@app/messaging';
import { withCorrelation } from '@app/observability';
import type { Logger } from 'pino';
import { InboundMessageHandler } from '../inbound/inbound-message.handler';
import { GhlOutboundHandler } from '../outbound/ghl-outbound.handler';
import { MessageStatusHandler } from '../outbound/message-status.handler';
import { PhoneOutboundHandler } from '../outbound/phone-outbound.handler';
import { withDeliveryAttempt } from '../rate-limit/delivery-attempt';
import { ReplayOutcomeReporter } from '../replay/replay-outcome.reporter';
import { GhlTokenService } from '../tokens/ghl-token.service';
import { SYNC_CONFIG, SYNC_LOGGER } from '../sync.tokens';

/** Retry delays for failures that name none (GHL 5xx, a session reconnecting, ...). */
const BACKOFF_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000];

/**
 * The sync's durable consumers, on the live events and on the replay stream (a replayed event goes
 * through the same idempotent handlers, so it never writes to GHL twice; the outcome of an event the
 * replay tool re-fed is reported to it):
 *
 * - `message.*` (inbound, outbound, status), one chat's events in order (ordering key location+chat);
 * - `ghl.outbound_requested`, one contact's messages in order.
 *
 * NATS 2.9 allows one filter per consumer, hence one consumer per family.
 */
@Injectable()
export class SyncConsumers implements OnApplicationBootstrap {
  private readonly runners: ConsumerRunner[] = [];
  private readonly logger: Logger;

  constructor(
    private readonly factory: ConsumerRunnerFactory,
    private readonly inbound: InboundMessageHandler,
    private readonly phoneOutbound: PhoneOutboundHandler,
    private readonly statuses: MessageStatusHandler,
    private readonly ghlOutbound: GhlOutboundHandler,
    private readonly tokens: GhlTokenService,
    private readonly replayOutcomes: ReplayOutcomeReporter,
    @Inject(SYNC_CONFIG) private readonly config: SyncConfig,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'sync-consumers' });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.GHL_PRIVATE_INTEGRATION_TOKENS?.length) {
      await this.tokens.registerPrivateIntegrationTokens(this.config.GHL_PRIVATE_INTEGRATION_TOKENS);
    }
    for (const [stream, root, prefix] of [
      [STREAMS.events, SUBJECT_ROOTS.events, 'sync'],
      [STREAMS.replay, SUBJECT_ROOTS.replay, 'sync-replay'],
    ] as const) {
      // Replayed events have consumers of their own, smaller, so live events never queue behind them.
      // Both report the outcome of an event the replay tool re-fed (a replay, or a redriven dead letter).
      const replay = stream === STREAMS.replay;
      const concurrency = replay ? this.config.SYNC_REPLAY_CONCURRENCY : this.config.SYNC_CONCURRENCY;
      this.runners.push(
        this.factory.create({
          consumer: {
            stream,
            durable: `${prefix}-messages`,
            filterSubject: `${root}.*.message.>`,
            description: 'WhatsApp messages, outbound copies and receipts into GHL',
            ...this.delivery(replay),
          },
          concurrency,
          orderingKey: (envelope) => `${envelope.locationId}|${chatOf(envelope)}`,
          backoffMs: BACKOFF_MS,
          handler: this.replayOutcomes.wrap((envelope, ctx) => this.routeMessage(envelope, ctx)),
        }),
        this.factory.create({
          consumer: {
            stream,
            durable: `${prefix}-ghl-outbound`,
            filterSubject: `${root}.*.ghl.outbound_requested`,
            description: 'GHL provider messages out over WhatsApp',
            ...this.delivery(replay),
          },
          concurrency: Math.max(1, Math.ceil(concurrency / 4)),
          orderingKey: (envelope) =>
            envelope.type === 'ghl.outbound_requested'
              ? `${envelope.locationId}|${envelope.payload.contactId}`
              : envelope.locationId,
          backoffMs: BACKOFF_MS,
          handler: this.replayOutcomes.wrap((envelope, ctx) =>
            withCorrelation(envelope.correlationId, () =>
              withDeliveryAttempt(ctx.deliveryCount, async () => {
                if (envelope.type !== 'ghl.outbound_requested') return this.unexpected(envelope, ctx);
                await this.ghlOutbound.handle(envelope, ctx);
              }),
            ),
          ),
        }),
      );
    }
    await Promise.all(this.runners.map((runner) => runner.start()));
    this.logger.info({ consumers: this.runners.map((r) => r.name) }, 'sync consumers started');
  }

  private delivery(replay: boolean) {
    return {
      maxDeliver: replay ? this.config.SYNC_REPLAY_MAX_DELIVER : this.config.SYNC_MAX_DELIVER,
      ackWaitMs: this.config.SYNC_ACK_WAIT,
      maxAckPending: this.config.SYNC_MAX_ACK_PENDING,
    };
  }

  private routeMessage(envelope: EventEnvelope, ctx: HandlerContext): Promise<void> {
    return withCorrelation(envelope.correlationId, () =>
      withDeliveryAttempt(ctx.deliveryCount, async () => {
        if (envelope.type === 'message.inbound') return this.inbound.handle(envelope, ctx);
        if (envelope.type === 'message.outbound') return this.phoneOutbound.handle(envelope, ctx);
        if (envelope.type === 'message.status') return this.statuses.handle(envelope, ctx);
        return this.unexpected(envelope, ctx);
      }),
    );
  }

  /** The filter cannot deliver other types; one that arrives anyway is acknowledged and logged. */
  private async unexpected(envelope: EventEnvelope, ctx: HandlerContext): Promise<void> {
    this.logger.warn(
      { eventType: envelope.type, subject: ctx.subject },
      'event type this consumer does not handle',
    );
  }
}

function chatOf(envelope: EventEnvelope): string {
  if (
    envelope.type === 'message.inbound' ||
    envelope.type === 'message.outbound' ||
    envelope.type === 'message.status'
  ) {
    return envelope.payload.chatJid;
  }
  return '';
}
