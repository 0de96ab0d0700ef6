import { Injectable } from '@nestjs/common';
import { Sql } from '../db/sql';

export interface CachedContact {
  contactId: string;
  conversationId: string | null;
  hasName: boolean;
}

/** Entries kept in memory per process; the table holds them all. */
const MEMORY_ENTRIES = 50_000;

/**
 * Which GHL contact (and conversation) a WhatsApp number is in a location: `ghl_contacts`, with a
 * bounded in-memory copy in front so a busy chat costs no database read per message. Entries are only
 * ever set to what GHL answered; a stale one (contact deleted in GHL) is dropped with `forget`.
 */
@Injectable()
export class ContactCacheRepository {
  private readonly memory = new Map<string, CachedContact>();

  constructor(private readonly sql: Sql) {}

  async get(locationId: string, phone: string): Promise<CachedContact | null> {
    const key = `${locationId}|${phone}`;
    const hit = this.memory.get(key);
    if (hit) return hit;
    const { rows } = await this.sql.query<{
      contact_id: string;
      conversation_id: string | null;
      has_name: boolean;
    }>(
      `SELECT contact_id, conversation_id, has_name FROM ghl_contacts WHERE location_id = $1 AND phone = $2`,
      [locationId, phone],
    );
    const row = rows[0];
    if (!row) return null;
    const entry = { contactId: row.contact_id, conversationId: row.conversation_id, hasName: row.has_name };
    this.remember(key, entry);
    return entry;
  }

  async put(locationId: string, phone: string, entry: CachedContact): Promise<void> {
    await this.sql.query(
      `INSERT INTO ghl_contacts (location_id, phone, contact_id, conversation_id, has_name, updated_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (location_id, phone) DO UPDATE
         SET contact_id = EXCLUDED.contact_id, conversation_id = EXCLUDED.conversation_id,
             has_name = EXCLUDED.has_name, updated_at = now()`,
      [locationId, phone, entry.contactId, entry.conversationId, entry.hasName],
    );
    this.remember(`${locationId}|${phone}`, entry);
  }

  async forget(locationId: string, phone: string): Promise<void> {
    this.memory.delete(`${locationId}|${phone}`);
    await this.sql.query(`DELETE FROM ghl_contacts WHERE location_id = $1 AND phone = $2`, [
      locationId,
      phone,
    ]);
  }

  /** The phone of a GHL contact we know (GHL outbound requests may omit it). */
  async phoneOf(locationId: string, contactId: string): Promise<string | null> {
    const { rows } = await this.sql.query<{ phone: string }>(
      `SELECT phone FROM ghl_contacts WHERE location_id = $1 AND contact_id = $2 LIMIT 1`,
      [locationId, contactId],
    );
    return rows[0]?.phone ?? null;
  }

  private remember(key: string, entry: CachedContact): void {
    this.memory.delete(key);
    this.memory.set(key, entry);
    if (this.memory.size > MEMORY_ENTRIES) {
      // Map iteration is insertion order: the first key is the least recently written.
      const oldest = this.memory.keys().next().value;
      if (oldest !== undefined) this.memory.delete(oldest);
    }
  }
}
