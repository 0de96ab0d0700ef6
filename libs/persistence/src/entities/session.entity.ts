import { SESSION_STATES, type SessionState } from '@app/contracts';
import { Check, Column, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintTransformer } from './bigint.transformer';
import { sqlInList } from './sql-check';

export const DESIRED_SESSION_STATES = ['running', 'stopped'] as const;
export type DesiredSessionState = (typeof DESIRED_SESSION_STATES)[number];

/**
 * The session projection the api reads: what the tenant asked for (`desiredState`) and what the owning
 * worker last reported. Workers write it with `WHERE state_epoch <= $leaseEpoch`, so a worker that
 * lost its lease cannot overwrite what the new owner wrote.
 */
@Entity({ name: 'sessions' })
@Index('ix_sessions_owner_worker_id', ['ownerWorkerId'])
@Index('ix_sessions_desired_state', ['desiredState'])
@Check('ck_sessions_desired_state', sqlInList('desired_state', DESIRED_SESSION_STATES))
@Check('ck_sessions_state', sqlInList('state', SESSION_STATES))
export class SessionEntity {
  @PrimaryColumn({
    name: 'location_id',
    type: 'varchar',
    length: 64,
    primaryKeyConstraintName: 'pk_sessions',
  })
  locationId!: string;

  @Column({ name: 'desired_state', type: 'varchar', length: 16, default: 'stopped' })
  desiredState!: DesiredSessionState;

  @Column({ name: 'state', type: 'varchar', length: 16, default: 'stopped' })
  state!: SessionState;

  /** E.164 of the linked number. */
  @Column({ name: 'phone', type: 'varchar', length: 20, nullable: true })
  phone!: string | null;

  @Column({ name: 'jid', type: 'varchar', length: 200, nullable: true })
  jid!: string | null;

  @Column({ name: 'push_name', type: 'varchar', length: 200, nullable: true })
  pushName!: string | null;

  @Column({ name: 'last_disconnect_code', type: 'integer', nullable: true })
  lastDisconnectCode!: number | null;

  @Column({ name: 'last_disconnect_reason', type: 'text', nullable: true })
  lastDisconnectReason!: string | null;

  /** The newest QR string while `state` is `qr`; cleared once linked. */
  @Column({ name: 'qr', type: 'text', nullable: true })
  qr!: string | null;

  @Column({ name: 'qr_expires_at', type: 'timestamptz', nullable: true })
  qrExpiresAt!: Date | null;

  @Column({ name: 'owner_worker_id', type: 'varchar', length: 200, nullable: true })
  ownerWorkerId!: string | null;

  /** The lease epoch of the write that produced this row (fencing token). */
  @Column({ name: 'state_epoch', type: 'bigint', default: 0, transformer: bigintTransformer })
  stateEpoch!: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
