import { randomUUID } from 'node:crypto';
import type { ContactDto, LocationDto } from '@app/ghl-sandbox-client/admin-api.types';
import { GhlHttpError } from '../http/ghl-http.error';
import type { SandboxState } from '../state/sandbox-state';
import { toE164 } from '../state/phone';
import { assertLocationAccess, str, tokenOf, type ApiHandlers, type ApiRequest } from './api-handler';

/** Body fields copied onto the contact as they are. */
const PLAIN_FIELDS = [
  'firstName',
  'lastName',
  'name',
  'email',
  'gender',
  'address1',
  'city',
  'state',
  'postalCode',
  'website',
  'timezone',
  'dnd',
  'dndSettings',
  'inboundDndSettings',
  'source',
  'dateOfBirth',
  'country',
  'companyName',
  'assignedTo',
] as const;

export class ContactsService {
  constructor(private readonly state: SandboxState) {}

  location(locationId: string): LocationDto {
    const location = this.state.locations.get(locationId);
    if (!location) throw GhlHttpError.badRequest('Location not found');
    return location;
  }

  /** A contact the token may see; 400 when unknown (undocumented, §3.3), 403 when in another location. */
  get(req: ApiRequest, contactId: string): ContactDto {
    const contact = this.state.contacts.get(contactId);
    if (!contact) throw GhlHttpError.badRequest('Contact not found');
    const token = tokenOf(req);
    assertLocationAccess(token, contact.locationId, this.state.locations.get(contact.locationId)?.companyId);
    return contact;
  }

  byPhone(locationId: string, phone: string): ContactDto | undefined {
    return [...this.state.contacts.values()].find((c) => c.locationId === locationId && c.phone === phone);
  }

  byEmail(locationId: string, email: string): ContactDto | undefined {
    const lower = email.toLowerCase();
    return [...this.state.contacts.values()].find(
      (c) => c.locationId === locationId && c.email?.toLowerCase() === lower,
    );
  }

  /**
   * The existing contact an upsert/create collides with: E.164 phone first, then email, within the
   * location (GHL-CONTRACT §11 row 5; the live order follows the location's configured sequence).
   */
  findDuplicate(
    locationId: string,
    phone?: string,
    email?: string,
  ): { contact: ContactDto; field: 'phone' | 'email' } | undefined {
    const byPhone = phone ? this.byPhone(locationId, phone) : undefined;
    if (byPhone) return { contact: byPhone, field: 'phone' };
    const byEmail = email ? this.byEmail(locationId, email) : undefined;
    return byEmail ? { contact: byEmail, field: 'email' } : undefined;
  }

  private normalisedPhone(body: Record<string, unknown>): string | undefined | null {
    if (!('phone' in body)) return undefined;
    const phone = str(body.phone);
    if (phone === undefined) return null;
    const e164 = toE164(phone);
    if (e164 === null) throw GhlHttpError.unprocessable(['phone must be a valid phone number']);
    return e164;
  }

  /** Writes the body's fields onto the contact. Tags and custom fields overwrite (§3.1). */
  private apply(contact: ContactDto, body: Record<string, unknown>, now: number): void {
    for (const field of PLAIN_FIELDS)
      if (field in body) (contact as Record<string, unknown>)[field] = body[field] ?? undefined;
    const phone = this.normalisedPhone(body);
    if (phone !== undefined) contact.phone = phone ?? undefined;
    if (Array.isArray(body.tags))
      contact.tags = [...new Set((body.tags as string[]).map((t) => t.toLowerCase()))];
    if (Array.isArray(body.customFields)) {
      contact.customFields = (body.customFields as Array<Record<string, unknown>>).map((f) => ({
        id: str(f.id) ?? str(f.key) ?? '',
        value: f.field_value ?? f.value,
      }));
    }
    if (!('name' in body) && ('firstName' in body || 'lastName' in body)) {
      contact.name = [contact.firstName, contact.lastName].filter(Boolean).join(' ') || undefined;
    }
    contact.dateUpdated = new Date(now).toISOString();
  }

  create(locationId: string, body: Record<string, unknown>, now: number): ContactDto {
    const at = new Date(now).toISOString();
    const contact: ContactDto = {
      id: this.state.newId(),
      locationId,
      tags: [],
      customFields: [],
      type: 'lead',
      dateAdded: at,
      dateUpdated: at,
    };
    this.apply(contact, body, now);
    if (!contact.source) contact.source = 'public api';
    this.state.contacts.set(contact.id, contact);
    return contact;
  }

  update(contact: ContactDto, body: Record<string, unknown>, now: number): ContactDto {
    this.apply(contact, body, now);
    return contact;
  }

  duplicateError(found: { contact: ContactDto; field: string }): GhlHttpError {
    // Assumed wording and meta: GHL answers 400 or 422 on a duplicate depending on settings (§3.3).
    return GhlHttpError.badRequest('This location does not allow duplicated contacts.', {
      meta: { contactName: found.contact.name, contactId: found.contact.id, matchingField: found.field },
    });
  }
}

export function contactsHandlers(state: SandboxState, contacts: ContactsService): ApiHandlers {
  const traceId = (): string => randomUUID();
  return {
    'upsert-contact': (req) => {
      const token = tokenOf(req);
      const locationId = str(req.body.locationId)!;
      assertLocationAccess(token, locationId, state.locations.get(locationId)?.companyId);
      const location = contacts.location(locationId);
      const phone =
        str(req.body.phone) !== undefined ? (toE164(str(req.body.phone)!) ?? undefined) : undefined;
      const email = str(req.body.email);
      const createNew = req.body.createNewIfDuplicateAllowed === true && location.allowDuplicateContact;
      const found = createNew ? undefined : contacts.findDuplicate(locationId, phone, email);
      if (found) {
        return {
          status: 200,
          body: {
            new: false,
            contact: contacts.update(found.contact, req.body, req.now),
            traceId: traceId(),
          },
        };
      }
      return {
        status: 200,
        body: { new: true, contact: contacts.create(locationId, req.body, req.now), traceId: traceId() },
      };
    },

    'create-contact': (req) => {
      const token = tokenOf(req);
      const locationId = str(req.body.locationId)!;
      assertLocationAccess(token, locationId, state.locations.get(locationId)?.companyId);
      const location = contacts.location(locationId);
      const phone =
        str(req.body.phone) !== undefined ? (toE164(str(req.body.phone)!) ?? undefined) : undefined;
      const found = contacts.findDuplicate(locationId, phone, str(req.body.email));
      if (found && !location.allowDuplicateContact) throw contacts.duplicateError(found);
      return { status: 201, body: { contact: contacts.create(locationId, req.body, req.now) } };
    },

    'get-duplicate-contact': (req) => {
      const token = tokenOf(req);
      const locationId = req.query.locationId;
      assertLocationAccess(token, locationId, state.locations.get(locationId)?.companyId);
      const location = contacts.location(locationId);
      const phone = req.query.number ? (toE164(req.query.number) ?? undefined) : undefined;
      const email = req.query.email;
      // "If the setting is enabled, first priority for search is email and the second is phone" (§3.2).
      const contact = location.allowDuplicateContact
        ? (email && contacts.byEmail(locationId, email)) ||
          (phone && contacts.byPhone(locationId, phone)) ||
          null
        : (phone && contacts.byPhone(locationId, phone)) ||
          (email && contacts.byEmail(locationId, email)) ||
          null;
      return { status: 200, body: { contact, traceId: traceId() } };
    },

    'get-contact': (req) => ({ status: 200, body: { contact: contacts.get(req, req.pathParams.contactId) } }),

    'update-contact': (req) => {
      const contact = contacts.get(req, req.pathParams.contactId);
      const location = contacts.location(contact.locationId);
      const phone =
        str(req.body.phone) !== undefined ? (toE164(str(req.body.phone)!) ?? undefined) : undefined;
      const found = contacts.findDuplicate(contact.locationId, phone, str(req.body.email));
      if (found && found.contact.id !== contact.id && !location.allowDuplicateContact)
        throw contacts.duplicateError(found);
      // The response really spells it "succeded" (§3.3).
      return { status: 200, body: { succeded: true, contact: contacts.update(contact, req.body, req.now) } };
    },

    'delete-contact': (req) => {
      const contact = contacts.get(req, req.pathParams.contactId);
      state.contacts.delete(contact.id);
      return { status: 200, body: { succeded: true } };
    },

    'add-tags': (req) => {
      const contact = contacts.get(req, req.pathParams.contactId);
      const added = (req.body.tags as string[]).map((t) => t.toLowerCase());
      contact.tags = [...new Set([...contact.tags, ...added])];
      contact.dateUpdated = new Date(req.now).toISOString();
      return { status: 201, body: { tags: contact.tags } };
    },

    'remove-tags': (req) => {
      const contact = contacts.get(req, req.pathParams.contactId);
      const removed = new Set((req.body.tags as string[]).map((t) => t.toLowerCase()));
      contact.tags = contact.tags.filter((t) => !removed.has(t));
      contact.dateUpdated = new Date(req.now).toISOString();
      return { status: 200, body: { tags: contact.tags } };
    },

    'get-contacts': (req) => {
      const token = tokenOf(req);
      const locationId = req.query.locationId;
      assertLocationAccess(token, locationId, state.locations.get(locationId)?.companyId);
      const needle = req.query.query?.toLowerCase();
      const all = [...state.contacts.values()].filter(
        (c) =>
          c.locationId === locationId &&
          (!needle ||
            [c.name, c.email, c.phone].some(
              (v) => typeof v === 'string' && v.toLowerCase().includes(needle),
            )),
      );
      const limit = Math.min(Number(req.query.limit ?? '20') || 20, 100);
      return { status: 200, body: { contacts: all.slice(0, limit), meta: { total: all.length } } };
    },
  };
}
