import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { CoreModule } from '@app/core';
import type { ApiConfig } from '@app/config';
import type { Logger } from 'pino';
import { API_CONFIG, API_LOGGER } from './api.tokens';
import { ApiAccessGuard } from './auth/api-access.guard';
import { ApiKeyService } from './auth/api-key.service';
import { ApiKeysController } from './auth/api-keys.controller';
import { DashboardSessionService } from './auth/dashboard-session.service';
import { RateLimitService } from './auth/rate-limit.service';
import { SessionController } from './auth/session.controller';
import { DashboardStreamController } from './dashboard/dashboard-stream.controller';
import { DashboardStreamService } from './dashboard/dashboard-stream.service';
import { DashboardController } from './dashboard/dashboard.controller';
import { LocationEventHub } from './dashboard/location-event-hub';
import { ApiExceptionFilter } from './http/api-exception.filter';
import { LocationReadRepository } from './locations/location-read.repository';
import { LocationsController } from './locations/locations.controller';
import { RecentEventsService } from './locations/recent-events.service';
import { SessionCommandsService } from './locations/session-commands.service';
import { SessionControlRepository } from './locations/session-control.repository';
import { OAuthController } from './oauth/oauth.controller';
import { OpenApiController } from './openapi/openapi.controller';
import { QrRenderer } from './qr/qr-renderer';
import { QrController } from './qr/qr.controller';
import { TimelineController } from './timeline/timeline.controller';
import { TimelineService } from './timeline/timeline.service';
import { GhlWebhooksController } from './webhooks/ghl-webhooks.controller';
import { InstallationLifecycleService } from './webhooks/installation-lifecycle.service';
import { InstallationRepository } from './webhooks/installation.repository';
import { WebhookSignatureVerifier } from './webhooks/webhook-signature.verifier';

/** The HTTP edge for people and for GHL; answers from stored state and sends commands over NATS. */
@Module({})
export class ApiModule {
  static forRoot(config: ApiConfig, logger: Logger): DynamicModule {
    return {
      module: ApiModule,
      imports: [CoreModule.forRoot({ app: 'api', config, logger })],
      controllers: [
        LocationsController,
        TimelineController,
        QrController,
        DashboardStreamController,
        SessionController,
        ApiKeysController,
        OAuthController,
        GhlWebhooksController,
        DashboardController,
        OpenApiController,
      ],
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: API_LOGGER, useValue: logger },
        // auth
        ApiKeyService,
        DashboardSessionService,
        RateLimitService,
        { provide: APP_GUARD, useClass: ApiAccessGuard },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        // locations, QR, dashboard
        LocationReadRepository,
        SessionControlRepository,
        SessionCommandsService,
        RecentEventsService,
        QrRenderer,
        LocationEventHub,
        DashboardStreamService,
        TimelineService,
        // webhooks
        WebhookSignatureVerifier,
        InstallationRepository,
        InstallationLifecycleService,
      ],
    };
  }
}
