import { CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * GHL webhook ids already accepted. Inserting the id is the replay check: a conflict means a replay.
 * Rows older than the signature's accepted clock window can be pruned, hence the index.
 */
@Entity({ name: 'webhook_receipts' })
@Index('ix_webhook_receipts_received_at', ['receivedAt'])
export class WebhookReceiptEntity {
  @PrimaryColumn({
    name: 'webhook_id',
    type: 'varchar',
    length: 200,
    primaryKeyConstraintName: 'pk_webhook_receipts',
  })
  webhookId!: string;

  @CreateDateColumn({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;
}
