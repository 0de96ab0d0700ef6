import { ApiKeyEntity } from './api-key.entity';
import { AuthStateEntity } from './auth-state.entity';
import { GhlContactEntity } from './ghl-contact.entity';
import { InstallationEntity } from './installation.entity';
import { MessageMappingEntity } from './message-mapping.entity';
import { OAuthTokenEntity } from './oauth-token.entity';
import { ProcessedMessageEntity } from './processed-message.entity';
import { RateLimitBucketEntity } from './rate-limit-bucket.entity';
import { SessionLeaseEntity } from './session-lease.entity';
import { SessionEntity } from './session.entity';
import { WebhookReceiptEntity } from './webhook-receipt.entity';
import { WorkerEntity } from './worker.entity';

export * from './api-key.entity';
export * from './auth-state.entity';
export * from './bigint.transformer';
export * from './ghl-contact.entity';
export * from './installation.entity';
export * from './message-mapping.entity';
export * from './oauth-token.entity';
export * from './processed-message.entity';
export * from './rate-limit-bucket.entity';
export * from './session-lease.entity';
export * from './session.entity';
export * from './webhook-receipt.entity';
export * from './worker.entity';

/** Listed, not globbed: globs resolve differently from ts sources under Jest and from compiled dist. */
export const ENTITIES = [
  InstallationEntity,
  OAuthTokenEntity,
  SessionEntity,
  SessionLeaseEntity,
  AuthStateEntity,
  ProcessedMessageEntity,
  MessageMappingEntity,
  ApiKeyEntity,
  WebhookReceiptEntity,
  WorkerEntity,
  GhlContactEntity,
  RateLimitBucketEntity,
];
