import { DynamicModule, Module } from '@nestjs/common';
import { CoreModule } from '@app/core';
import { MessagingConnection, ReplayOutcomeChannel } from '@app/messaging';
import type { SyncConfig } from '@app/config';
import { SecretBox } from '@app/persistence';
import type { Logger } from 'pino';
import { ContactCacheRepository } from './contacts/contact-cache.repository';
import { GhlContactResolver } from './contacts/ghl-contact.resolver';
import { SyncConsumers } from './consumers/sync-consumers.service';
import { SyncResults } from './consumers/sync-results';
import { Sql } from './db/sql';
import { GhlApiClient } from './ghl/ghl-api.client';
import { ProcessedMessagePruner } from './idempotency/processed-message.pruner';
import { ProcessedMessageRepository } from './idempotency/processed-message.repository';
import { GhlMessageWriter } from './inbound/ghl-message.writer';
import { InboundMessageHandler } from './inbound/inbound-message.handler';
import { MediaAttachments } from './media/media-attachments.service';
import { ExchangeCodeHandler } from './oauth/exchange-code.handler';
import { GhlOutboundHandler } from './outbound/ghl-outbound.handler';
import { MessageStatusHandler } from './outbound/message-status.handler';
import { PhoneOutboundHandler } from './outbound/phone-outbound.handler';
import { GhlRateLimiter } from './rate-limit/ghl-rate-limiter.service';
import { RateLimitRepository } from './rate-limit/rate-limit.repository';
import { ReplayOutcomeReporter } from './replay/replay-outcome.reporter';
import { GhlGateway } from './tokens/ghl-gateway.service';
import { GhlTokenService } from './tokens/ghl-token.service';
import { TokenRefreshSweeper } from './tokens/token-refresh.sweeper';
import { InstallationRepository, SYNC_SECRET_BOX, TokenRepository } from './tokens/token.repository';
import { SYNC_CONFIG, SYNC_LOGGER } from './sync.tokens';

/** Consumes WhatsApp events and writes them to GHL; the only app that calls GHL. */
@Module({})
export class SyncModule {
  static forRoot(config: SyncConfig, logger: Logger): DynamicModule {
    return {
      module: SyncModule,
      imports: [CoreModule.forRoot({ app: 'sync', config, logger })],
      providers: [
        { provide: SYNC_CONFIG, useValue: config },
        { provide: SYNC_LOGGER, useValue: logger },
        { provide: SYNC_SECRET_BOX, useFactory: () => SecretBox.fromBase64(config.ENCRYPTION_KEY) },
        {
          provide: GhlApiClient,
          // The limiter learns GHL's view of each bucket from every answer.
          useFactory: (limiter: GhlRateLimiter) =>
            new GhlApiClient({
              baseUrl: config.GHL_API_BASE_URL,
              timeoutMs: config.GHL_REQUEST_TIMEOUT,
              maxSockets: Math.max(64, config.SYNC_CONCURRENCY * 2),
              onRateLimit: (key, headers) => void limiter.observe(key, headers),
            }),
          inject: [GhlRateLimiter],
        },
        Sql,
        TokenRepository,
        InstallationRepository,
        RateLimitRepository,
        GhlRateLimiter,
        GhlTokenService,
        TokenRefreshSweeper,
        GhlGateway,
        ProcessedMessageRepository,
        ProcessedMessagePruner,
        ContactCacheRepository,
        GhlContactResolver,
        SyncResults,
        MediaAttachments,
        GhlMessageWriter,
        InboundMessageHandler,
        PhoneOutboundHandler,
        MessageStatusHandler,
        GhlOutboundHandler,
        ExchangeCodeHandler,
        {
          provide: ReplayOutcomeChannel,
          useFactory: (connection: MessagingConnection) => new ReplayOutcomeChannel(connection),
          inject: [MessagingConnection],
        },
        ReplayOutcomeReporter,
        SyncConsumers,
      ],
    };
  }
}
