import type { Logger } from 'pino';
import type {
  InstallationDto,
  SandboxSettingsDto,
  WebhookDeliveryDto,
} from '@app/ghl-sandbox-client/admin-api.types';
import type { ContactsService } from './api/contacts.handlers';
import type { ConversationsService } from './api/conversations.service';
import type { OAuthService } from './auth/oauth.service';
import type { SandboxConfig } from './config/sandbox-config.schema';
import type { FaultInjector } from './faults/fault-injector';
import type { OpenApiCatalog } from './openapi/openapi-catalog';
import type { RateLimiter } from './rate-limit/rate-limiter';
import type { SandboxState } from './state/sandbox-state';
import type { SigningKeys } from './webhooks/signing-keys';
import type { WebhookDispatcher } from './webhooks/webhook-dispatcher';

/** Everything one sandbox instance is made of; handed to the HTTP layer and the admin API. */
export interface SandboxContext {
  config: SandboxConfig;
  /** Runtime-adjustable settings (admin `PATCH /admin/settings`); services read them live. */
  settings: SandboxSettingsDto;
  state: SandboxState;
  logger: Logger;
  keys: SigningKeys;
  catalog: OpenApiCatalog;
  rateLimiter: RateLimiter;
  faults: FaultInjector;
  webhooks: WebhookDispatcher;
  oauth: OAuthService;
  contacts: ContactsService;
  conversations: ConversationsService;
  publicUrl(): string;
  /** Clears all state and re-seeds the demo data when configured. */
  reset(): void;
  sendInstallWebhooks(installs: InstallationDto[], url?: string): WebhookDeliveryDto[];
  sendUninstallWebhook(
    target: { locationId?: string; companyId?: string },
    url?: string,
  ): WebhookDeliveryDto | undefined;
}
