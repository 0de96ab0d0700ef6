import { Check, Column, CreateDateColumn, Entity, PrimaryColumn, Unique } from 'typeorm';
import { sqlInList } from './sql-check';

export const MESSAGE_DIRECTIONS = ['inbound', 'outbound'] as const;
export type MessageDirection = (typeof MESSAGE_DIRECTIONS)[number];

/**
 * Which GHL message is which WhatsApp message, both ways: WhatsApp receipts find the GHL message to
 * update, GHL outbound requests find the WhatsApp message they reply to. Each id is unique within its
 * location (the key is `(location_id, wa_message_id)`, plus a unique constraint on the GHL side).
 */
@Entity({ name: 'message_mappings' })
@Unique('uq_message_mappings_ghl_message', ['locationId', 'ghlMessageId'])
@Check('ck_message_mappings_direction', sqlInList('direction', MESSAGE_DIRECTIONS))
export class MessageMappingEntity {
  @PrimaryColumn({
    name: 'location_id',
    type: 'varchar',
    length: 64,
    primaryKeyConstraintName: 'pk_message_mappings',
  })
  locationId!: string;

  @PrimaryColumn({
    name: 'wa_message_id',
    type: 'varchar',
    length: 200,
    primaryKeyConstraintName: 'pk_message_mappings',
  })
  waMessageId!: string;

  @Column({ name: 'ghl_message_id', type: 'varchar', length: 200 })
  ghlMessageId!: string;

  @Column({ name: 'direction', type: 'varchar', length: 8 })
  direction!: MessageDirection;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
