import { z } from 'zod';
import { waPartySchema } from './message.events';

/** A contact the session learned (from a message, a push name change or the address book). */
export const contactUpsertedPayloadSchema = waPartySchema.extend({
  source: z.enum(['message', 'contacts_sync', 'lid_mapping']),
});
