import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Idempotency records: a consumer inserts its key (`ON CONFLICT DO NOTHING`) in the same transaction
 * as its side effect's local record, so a redelivered message is recognised and answered with the
 * stored result. Pruned by age, hence the index on `created_at`.
 */
@Entity({ name: 'processed_messages' })
@Index('ix_processed_messages_created_at', ['createdAt'])
@Index('ix_processed_messages_location_id', ['locationId'])
export class ProcessedMessageEntity {
  /** e.g. `sync:wa-inbound:<locationId>:<waMessageId>`: consumer, kind, then the natural id. */
  @PrimaryColumn({ name: 'key', type: 'text', primaryKeyConstraintName: 'pk_processed_messages' })
  key!: string;

  @Column({ name: 'location_id', type: 'varchar', length: 64 })
  locationId!: string;

  /** What the first processing produced (e.g. the GHL message id), returned on a duplicate. */
  @Column({ name: 'result', type: 'jsonb', nullable: true })
  result!: unknown;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
