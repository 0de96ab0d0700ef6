import { z } from 'zod';

/** The body of every error answer (see ApiExceptionFilter). */
export const errorBodySchema = z.object({
  code: z.string(),
  message: z.string(),
  correlationId: z.string(),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  retryable: z.boolean().optional(),
});
