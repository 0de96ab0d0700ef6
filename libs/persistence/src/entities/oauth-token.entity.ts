import { Check, Column, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { sqlInList } from './sql-check';

export const TOKEN_RESOURCE_TYPES = ['location', 'company'] as const;
export type TokenResourceType = (typeof TOKEN_RESOURCE_TYPES)[number];

export const TOKEN_USER_TYPES = ['Location', 'Company'] as const;
export type TokenUserType = (typeof TOKEN_USER_TYPES)[number];

/** `oauth`: a marketplace-app token pair that rotates; `private_integration`: a static PIT (GHL-CONTRACT §9). */
export const TOKEN_KINDS = ['oauth', 'private_integration'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/**
 * GHL OAuth tokens, encrypted with SecretBox. GHL refresh tokens are single-use, so a refresh is a
 * compare-and-set on `revision`: `UPDATE ... SET revision = revision + 1 WHERE ... AND revision = $seen`.
 * The replica that loses the race reads the winner's tokens instead of spending the old refresh token.
 */
@Entity({ name: 'oauth_tokens' })
@Index('ix_oauth_tokens_expires_at', ['expiresAt'])
@Check('ck_oauth_tokens_resource_type', sqlInList('resource_type', TOKEN_RESOURCE_TYPES))
@Check('ck_oauth_tokens_user_type', sqlInList('user_type', TOKEN_USER_TYPES))
@Check('ck_oauth_tokens_token_kind', sqlInList('token_kind', TOKEN_KINDS))
@Check(
  'ck_oauth_tokens_refresh_token',
  `"token_kind" = 'private_integration' OR "refresh_token_enc" IS NOT NULL`,
)
export class OAuthTokenEntity {
  @PrimaryColumn({
    name: 'resource_type',
    type: 'varchar',
    length: 16,
    primaryKeyConstraintName: 'pk_oauth_tokens',
  })
  resourceType!: TokenResourceType;

  /** A location id or a company id, per `resourceType`. */
  @PrimaryColumn({
    name: 'resource_id',
    type: 'varchar',
    length: 64,
    primaryKeyConstraintName: 'pk_oauth_tokens',
  })
  resourceId!: string;

  /** AAD `oauth:<resourceType>:<resourceId>:access`. */
  @Column({ name: 'access_token_enc', type: 'bytea' })
  accessTokenEnc!: Buffer;

  /** AAD `oauth:<resourceType>:<resourceId>:refresh`. Null only for a Private Integration token. */
  @Column({ name: 'refresh_token_enc', type: 'bytea', nullable: true })
  refreshTokenEnc!: Buffer | null;

  /** A Private Integration token never refreshes: a 401 means it was rotated or revoked. */
  @Column({ name: 'token_kind', type: 'varchar', length: 24, default: 'oauth' })
  tokenKind!: TokenKind;

  /** When the access token stops working, as computed from `expires_in` at issue time. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  /** Space-separated, as GHL returns them. */
  @Column({ name: 'scopes', type: 'text', default: '' })
  scopes!: string;

  @Column({ name: 'user_type', type: 'varchar', length: 16 })
  userType!: TokenUserType;

  /** Incremented on every write of new tokens; the fencing value of the single-flight refresh. */
  @Column({ name: 'revision', type: 'integer', default: 0 })
  revision!: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
