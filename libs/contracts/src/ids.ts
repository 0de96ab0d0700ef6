import { z } from 'zod';

/**
 * A GHL location id travels as a NATS subject token, so it may never contain `.`, `*`, `>` or
 * whitespace. GHL ids are 20 alphanumerics; we allow a little more for tests and agencies, and reserve
 * a leading `_` for subjects that are not about one location (see `GLOBAL_SCOPE`).
 */
export const locationIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/,
    'locationId must be 1-64 letters, digits, "_" or "-", starting with a letter or digit',
  );
export type LocationId = z.infer<typeof locationIdSchema>;

/** Subject token used instead of a location id by commands that concern no single location. */
export const GLOBAL_SCOPE = '_global';

/** E.164 phone number: `+` then 8 to 15 digits, no leading zero. */
export const e164Schema = z.string().regex(/^\+[1-9]\d{7,14}$/, 'phone must be E.164, e.g. +15550000001');
export type E164 = z.infer<typeof e164Schema>;

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * An id we mint or receive (envelope ids, correlation ids, WhatsApp and GHL message ids). Ids become
 * NATS headers (`Nats-Msg-Id`, where CR/LF cannot travel), URL path segments and database keys, so no
 * control characters, and well-formed text (an unpaired surrogate has no UTF-8 form: it would make
 * `encodeURIComponent` throw, and two different ids the same key).
 */
export const opaqueIdSchema = z
  .string()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters')
  .refine((id) => !UNPAIRED_SURROGATE.test(id), 'must be well-formed text (no unpaired surrogate)');

export const isoDateTimeSchema = z.iso.datetime({ offset: true });
