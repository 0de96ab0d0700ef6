import { z } from 'zod';

export const qrQuerySchema = z.object({ format: z.enum(['svg', 'png']).optional() }).strict();
