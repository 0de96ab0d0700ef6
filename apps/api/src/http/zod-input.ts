import type { z } from 'zod';
import { ApiError } from './api-error';

/**
 * Validates request input (body, query, params) against its zod schema; a mismatch is a 400 with every
 * bad field named, so a client can fix all of them at once.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: 'body' | 'query' | 'path',
): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    path: [what, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const summary = details.map((d) => `${d.path}: ${d.message}`).join('; ');
  throw ApiError.badRequest('invalid_request', `invalid ${what}: ${summary}`, details);
}
