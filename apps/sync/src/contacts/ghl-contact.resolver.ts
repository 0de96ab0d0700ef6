import { Injectable } from '@nestjs/common';
import { GhlPermanentError } from '../ghl/ghl.errors';
import type { GhlContact } from '../ghl/ghl-api.schemas';
import { GhlGateway } from '../tokens/ghl-gateway.service';
import { ContactCacheRepository, type CachedContact } from './contact-cache.repository';

export interface ContactParty {
  /** E.164. */
  phone: string;
  pushName: string | null;
}

export function contactHasName(contact: GhlContact): boolean {
  return [contact.name, contact.firstName, contact.lastName].some(
    (v) => typeof v === 'string' && v.trim() !== '',
  );
}

/**
 * The GHL contact and conversation of a WhatsApp number: from the cache, else found by E.164 phone
 * (GHL's duplicate search), else created by upsert. A WhatsApp push name becomes the contact's name
 * only when the contact has none: a name typed in GHL is never overwritten.
 */
@Injectable()
export class GhlContactResolver {
  constructor(
    private readonly gateway: GhlGateway,
    private readonly cache: ContactCacheRepository,
  ) {}

  async contactFor(
    locationId: string,
    party: ContactParty,
    options: { useName: boolean },
  ): Promise<CachedContact> {
    const name = options.useName ? party.pushName?.trim() || null : null;
    const cached = await this.cache.get(locationId, party.phone);
    if (cached) {
      if (cached.hasName || !name) return cached;
      // Someone may have named the contact in GHL since we cached it: look before writing.
      const current = await this.gateway.call(locationId, (auth) =>
        this.gateway.api.getContact(auth, cached.contactId),
      );
      if (!contactHasName(current)) {
        await this.gateway.call(locationId, (auth) =>
          this.gateway.api.updateContactName(auth, cached.contactId, name),
        );
      }
      const named = { ...cached, hasName: true };
      await this.cache.put(locationId, party.phone, named);
      return named;
    }

    const found = await this.gateway.call(locationId, (auth) =>
      this.gateway.api.findContactByPhone(auth, locationId, party.phone),
    );
    let entry: CachedContact;
    if (found) {
      let hasName = contactHasName(found);
      if (!hasName && name) {
        await this.gateway.call(locationId, (auth) =>
          this.gateway.api.updateContactName(auth, found.id, name),
        );
        hasName = true;
      }
      entry = { contactId: found.id, conversationId: null, hasName };
    } else {
      // Upsert, not create: if another writer created the contact since the search, GHL matches it by phone.
      const { contact } = await this.gateway.call(locationId, (auth) =>
        this.gateway.api.upsertContact(auth, { locationId, phone: party.phone, ...(name ? { name } : {}) }),
      );
      entry = { contactId: contact.id, conversationId: null, hasName: contactHasName(contact) };
    }
    await this.cache.put(locationId, party.phone, entry);
    return entry;
  }

  /** The contact's conversation (GHL keeps one per contact): searched first, created when there is none. */
  async conversationFor(locationId: string, phone: string, contact: CachedContact): Promise<string> {
    if (contact.conversationId) return contact.conversationId;
    let conversationId = await this.gateway.call(locationId, (auth) =>
      this.gateway.api.findConversation(auth, locationId, contact.contactId),
    );
    if (!conversationId) {
      try {
        conversationId = await this.gateway.call(locationId, (auth) =>
          this.gateway.api.createConversation(auth, locationId, contact.contactId),
        );
      } catch (err) {
        // Created by someone else since the search (the answer for an existing one is undocumented).
        if (!(err instanceof GhlPermanentError && err.status === 400 && /exist/i.test(err.ghlMessage)))
          throw err;
        conversationId = await this.gateway.call(locationId, (auth) =>
          this.gateway.api.findConversation(auth, locationId, contact.contactId),
        );
        if (!conversationId) throw err;
      }
    }
    await this.cache.put(locationId, phone, { ...contact, conversationId });
    return conversationId;
  }

  /** GHL no longer knows the cached contact or conversation: find them again next time. */
  async forget(locationId: string, phone: string): Promise<void> {
    await this.cache.forget(locationId, phone);
  }

  /** The phone of a GHL contact, from the cache or from GHL. */
  async phoneOfContact(locationId: string, contactId: string): Promise<string | null> {
    const known = await this.cache.phoneOf(locationId, contactId);
    if (known) return known;
    const contact = await this.gateway.call(locationId, (auth) =>
      this.gateway.api.getContact(auth, contactId),
    );
    return contact.phone ?? null;
  }
}
