import { Column, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * The sync app's cache of which GHL contact a WhatsApp number is in a location, and that contact's
 * conversation (GHL keeps one per contact). Losing a row costs GHL calls, never correctness: the
 * contact is found again by phone.
 */
@Entity({ name: 'ghl_contacts' })
@Index('ix_ghl_contacts_contact_id', ['locationId', 'contactId'])
export class GhlContactEntity {
  @PrimaryColumn({
    name: 'location_id',
    type: 'varchar',
    length: 64,
    primaryKeyConstraintName: 'pk_ghl_contacts',
  })
  locationId!: string;

  /** E.164. */
  @PrimaryColumn({ name: 'phone', type: 'varchar', length: 20, primaryKeyConstraintName: 'pk_ghl_contacts' })
  phone!: string;

  @Column({ name: 'contact_id', type: 'varchar', length: 200 })
  contactId!: string;

  @Column({ name: 'conversation_id', type: 'varchar', length: 200, nullable: true })
  conversationId!: string | null;

  /** Whether the GHL contact has a name, so a WhatsApp push name is only written to nameless contacts. */
  @Column({ name: 'has_name', type: 'boolean', default: false })
  hasName!: boolean;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
