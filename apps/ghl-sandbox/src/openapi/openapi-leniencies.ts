import type { OpenApiDocument } from './openapi-files';

/**
 * Places where the official spec is known to disagree with the live API. The files on disk stay
 * byte-identical to upstream; these patches are applied to the in-memory copies the validator uses.
 * Each one names the contract section that justifies it. Everything not listed here is validated
 * exactly as the spec says.
 */
export interface Leniency {
  file: string;
  schema: string;
  why: string;
  apply(schema: JsonSchema): void;
}

type JsonSchema = {
  required?: string[];
  properties?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
};

function dropRequired(schema: JsonSchema, ...names: string[]): void {
  schema.required = (schema.required ?? []).filter((name) => !names.includes(name));
}

function dateOfBirthAsString(schema: JsonSchema): void {
  // The spec types dateOfBirth as an object, but its own example and every client send "1990-09-25".
  const dob = schema.properties?.dateOfBirth;
  if (dob) schema.properties!.dateOfBirth = { ...dob, type: ['string', 'object'] };
}

export const LENIENCIES: Leniency[] = [
  {
    file: 'apps/conversations.json',
    schema: 'ProcessMessageBodyDto',
    why:
      'GHL-CONTRACT §5 / §12 Q2: conversationProviderId "is not required" for a default SMS provider; ' +
      '§4.2: many working integrations send only contactId, not conversationId; ' +
      'direction is typed `object` with default "outbound" although it is the string inbound|outbound.',
    apply(schema) {
      dropRequired(schema, 'conversationProviderId', 'conversationId');
      schema.properties!.direction = { type: 'string', enum: ['inbound', 'outbound'] };
    },
  },
  {
    file: 'apps/conversations.json',
    schema: 'SendMessageBodyDto',
    why:
      'GHL-CONTRACT §4.3: the 2026 spec marks subType and status required, which looks like a spec artefact; ' +
      'older specs and live clients send only type and contactId. subType is typed `object` without shape.',
    apply(schema) {
      dropRequired(schema, 'subType', 'status');
      schema.properties!.subType = {};
    },
  },
  {
    file: 'apps/conversations.json',
    schema: 'UploadFilesDto',
    why:
      'GHL-CONTRACT §4.7: the upload carries the file under `fileAttachment`; attachmentUrls is the ' +
      'alternative for files already hosted and cannot be required alongside a file.',
    apply(schema) {
      dropRequired(schema, 'attachmentUrls');
    },
  },
  ...['UpsertContactDto', 'CreateContactDto', 'UpdateContactDto'].map((name): Leniency => ({
    file: 'apps/contacts.json',
    schema: name,
    why: 'GHL-CONTRACT §3.1: dateOfBirth is sent as "1990-09-25" (the spec example) though typed object.',
    apply: dateOfBirthAsString,
  })),
];

/**
 * Request content types accepted beyond the spec's. `/oauth/locationToken` declares a form body, but
 * the official template sends JSON and that works (GHL-CONTRACT §2.3, TPL src/ghl.ts).
 */
export const EXTRA_CONTENT_TYPES: Record<string, string[]> = {
  'get-location-access-token': ['application/json'],
};

/** Applies every leniency to a deep copy of the loaded documents. */
export function applyLeniencies(docs: Map<string, OpenApiDocument>): Map<string, OpenApiDocument> {
  const patched = new Map<string, OpenApiDocument>();
  for (const [file, doc] of docs) patched.set(file, structuredClone(doc));
  for (const leniency of LENIENCIES) {
    const schema = patched.get(leniency.file)?.components?.schemas?.[leniency.schema] as
      JsonSchema | undefined;
    if (!schema) throw new Error(`leniency target missing: ${leniency.file}#${leniency.schema}`);
    leniency.apply(schema);
  }
  return patched;
}
