import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintTransformer } from './bigint.transformer';

/** Baileys' credentials live under this category with an empty key id. */
export const AUTH_CREDS_CATEGORY = 'creds';

/**
 * Baileys auth state (creds and Signal keys), one row per key, encrypted with SecretBox and bound by
 * AAD `auth:<locationId>:<category>:<keyId>` so a value copied onto another row fails to decrypt.
 * Writes are fenced: `WHERE written_epoch <= $leaseEpoch` on update.
 */
@Entity({ name: 'auth_state' })
export class AuthStateEntity {
  @PrimaryColumn({
    name: 'location_id',
    type: 'varchar',
    length: 64,
    primaryKeyConstraintName: 'pk_auth_state',
  })
  locationId!: string;

  /** `creds`, or a Baileys key type: `pre-key`, `session`, `sender-key`, `app-state-sync-key`, ... */
  @PrimaryColumn({ name: 'category', type: 'varchar', length: 64, primaryKeyConstraintName: 'pk_auth_state' })
  category!: string;

  /** Key ids can be JIDs with devices and group ids, so no length limit; '' for creds. */
  @PrimaryColumn({ name: 'key_id', type: 'text', primaryKeyConstraintName: 'pk_auth_state' })
  keyId!: string;

  @Column({ name: 'value_enc', type: 'bytea' })
  valueEnc!: Buffer;

  @Column({ name: 'written_epoch', type: 'bigint', transformer: bigintTransformer })
  writtenEpoch!: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
