import { Check, Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';
import { bigintTransformer } from './bigint.transformer';

/**
 * Who owns a session's WhatsApp socket. Acquire, renew and release are single conditional statements
 * judged by the database clock (`expires_at > now()`), never a worker's clock, so skew between pods
 * cannot make two workers believe they both hold a lease.
 *
 * The row is never deleted: release sets `expires_at = now()` and keeps `epoch`, so the next owner's
 * epoch is always higher than any epoch that ever wrote auth or session state.
 *
 * `(location_id, epoch)` is a key on purpose: credential writes lock the row `FOR KEY SHARE`, which
 * makes a takeover (it changes the epoch, a key column) wait for them but lets renewals through.
 */
@Entity({ name: 'session_leases' })
@Unique('uq_session_leases_holding', ['locationId', 'epoch'])
@Index('ix_session_leases_owner_id', ['ownerId'])
@Index('ix_session_leases_expires_at', ['expiresAt'])
@Check('ck_session_leases_epoch_positive', '"epoch" > 0')
export class SessionLeaseEntity {
  @PrimaryColumn({
    name: 'location_id',
    type: 'varchar',
    length: 64,
    primaryKeyConstraintName: 'pk_session_leases',
  })
  locationId!: string;

  @Column({ name: 'owner_id', type: 'varchar', length: 200 })
  ownerId!: string;

  /** Fencing token: +1 on every acquisition, never reused. */
  @Column({ name: 'epoch', type: 'bigint', transformer: bigintTransformer })
  epoch!: number;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'acquired_at', type: 'timestamptz', default: () => 'now()' })
  acquiredAt!: Date;

  @Column({ name: 'renewed_at', type: 'timestamptz', default: () => 'now()' })
  renewedAt!: Date;
}
