import { locationIdSchema } from '@app/contracts';
import { CryptoJsAesError, cryptoJsAesDecrypt } from '@app/cryptojs-aes';
import { z } from 'zod';

/**
 * The user GHL says is looking at our custom page (GHL-CONTRACT §8). Only what we use is required; GHL
 * adds fields over time, so unknown ones are ignored.
 */
export const ghlUserContextSchema = z.object({
  userId: z.string().min(1).max(200),
  companyId: z.string().min(1).max(200).optional(),
  role: z.string().max(50).optional(),
  type: z.enum(['agency', 'location']).optional(),
  userName: z.string().max(500).optional(),
  email: z.string().max(500).optional(),
  activeLocation: locationIdSchema.optional(),
});
export type GhlUserContext = z.infer<typeof ghlUserContextSchema>;

export class UserContextError extends Error {
  override readonly name = 'UserContextError';
}

/**
 * Opens the payload GHL hands the page (`CryptoJS.AES.encrypt(JSON.stringify(user), sharedSecret)`,
 * `@app/cryptojs-aes`). CBC has no integrity check, so a wrong secret or a forged payload shows up as a
 * padding error or as bytes that are not the expected JSON; both are refused. Trust `activeLocation`
 * only after this succeeds.
 */
export function decryptGhlUserContext(payload: string, sharedSecret: string): GhlUserContext {
  let text: string;
  try {
    text = cryptoJsAesDecrypt(payload, sharedSecret);
  } catch (error) {
    if (!(error instanceof CryptoJsAesError)) throw error;
    throw new UserContextError(
      error.reason === 'malformed'
        ? `the payload is ${error.message}`
        : 'the payload does not decrypt with the shared secret',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserContextError('the payload does not decrypt to JSON (wrong shared secret?)');
  }
  const parsed = ghlUserContextSchema.safeParse(json);
  if (!parsed.success) throw new UserContextError('the decrypted user context lacks required fields');
  return parsed.data;
}
