import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { sqlInList } from './sql-check';

export const API_KEY_SCOPES = ['admin', 'location'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * HTTP API keys. Only the SHA-256 of a key is stored: a leaked table grants nothing. Keys are random
 * and long, so a fast unsalted hash is enough and lets a lookup be one indexed equality.
 */
@Entity({ name: 'api_keys' })
// A unique index, not a constraint: TypeORM names single-column unique constraints itself.
@Index('uq_api_keys_key_hash', ['keyHash'], { unique: true })
@Index('ix_api_keys_location_id', ['locationId'])
@Check('ck_api_keys_scope', sqlInList('scope', API_KEY_SCOPES))
@Check('ck_api_keys_key_hash', `"key_hash" ~ '^[0-9a-f]{64}$'`)
// A location key without a location would be a key for nobody, or worse, read as admin.
@Check(
  'ck_api_keys_scope_location',
  `("scope" = 'admin' AND "location_id" IS NULL) OR ("scope" = 'location' AND "location_id" IS NOT NULL)`,
)
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid', { name: 'id', primaryKeyConstraintName: 'pk_api_keys' })
  id!: string;

  /** Lowercase hex SHA-256 of the key. */
  @Column({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash!: string;

  @Column({ name: 'scope', type: 'varchar', length: 16 })
  scope!: ApiKeyScope;

  @Column({ name: 'location_id', type: 'varchar', length: 64, nullable: true })
  locationId!: string | null;

  @Column({ name: 'label', type: 'text', nullable: true })
  label!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
