import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The vendored spec files the sandbox serves (GHL-CONTRACT §0; see openapi/SOURCE.md). */
export const API_SPEC_FILES = [
  'apps/oauth.json',
  'apps/contacts.json',
  'apps/conversations.json',
  'apps/locations.json',
  'apps/marketplace.json',
] as const;
export const COMMON_SPEC_FILE = 'common/common-schemas.json';
export const VENDORED_SPEC_FILES = [...API_SPEC_FILES, COMMON_SPEC_FILE] as const;

export type OpenApiDocument = {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown> };
  [key: string]: unknown;
};

/**
 * Finds `apps/ghl-sandbox/openapi` whether the code runs from source (ts-jest / swc: src/openapi) or
 * compiled (dist/apps/ghl-sandbox/src/openapi, with the JSON left in the source tree, as the Dockerfile
 * copies it).
 */
export function resolveOpenApiDir(explicit?: string): string {
  const candidates = explicit
    ? [resolve(explicit)]
    : [resolve(__dirname, '../../openapi'), resolve(__dirname, '../../../../../apps/ghl-sandbox/openapi')];
  const found = candidates.find((dir) => existsSync(join(dir, COMMON_SPEC_FILE)));
  if (!found) {
    throw new Error(`GHL OpenAPI files not found; looked in: ${candidates.join(', ')} (set OPENAPI_DIR)`);
  }
  return found;
}

export function loadOpenApiDocuments(dir: string): Map<string, OpenApiDocument> {
  const docs = new Map<string, OpenApiDocument>();
  for (const file of VENDORED_SPEC_FILES) {
    docs.set(file, JSON.parse(readFileSync(join(dir, file), 'utf8')) as OpenApiDocument);
  }
  return docs;
}
