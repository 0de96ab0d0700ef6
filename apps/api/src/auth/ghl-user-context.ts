import { locationIdSchema } from '@app/contracts';
import { createDecipheriv, createHash } from 'node:crypto';
import { z } from 'zod';

const OPENSSL_MAGIC = Buffer.from('Salted__', 'latin1');
const SALT_BYTES = 8;
const KEY_BYTES = 32;
const IV_BYTES = 16;
const AES_BLOCK_BYTES = 16;

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

/** OpenSSL's EVP_BytesToKey with MD5 and one iteration, which CryptoJS's passphrase mode uses. */
function deriveKeyAndIv(passphrase: Buffer, salt: Buffer): { key: Buffer; iv: Buffer } {
  const parts: Buffer[] = [];
  let previous = Buffer.alloc(0);
  let length = 0;
  while (length < KEY_BYTES + IV_BYTES) {
    previous = createHash('md5')
      .update(Buffer.concat([previous, passphrase, salt]))
      .digest();
    parts.push(previous);
    length += previous.length;
  }
  const material = Buffer.concat(parts);
  return { key: material.subarray(0, KEY_BYTES), iv: material.subarray(KEY_BYTES, KEY_BYTES + IV_BYTES) };
}

/**
 * Opens the payload GHL hands the page (`CryptoJS.AES.encrypt(JSON.stringify(user), sharedSecret)`):
 * base64 of "Salted__" + salt + AES-256-CBC ciphertext. CBC has no integrity check, so a wrong secret
 * or a forged payload shows up as a padding error or as bytes that are not the expected JSON; both are
 * refused. Trust `activeLocation` only after this succeeds.
 */
export function decryptGhlUserContext(payload: string, sharedSecret: string): GhlUserContext {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(payload)) throw new UserContextError('the payload is not base64');
  const raw = Buffer.from(payload, 'base64');
  const body = raw.subarray(OPENSSL_MAGIC.length + SALT_BYTES);
  if (
    !raw.subarray(0, OPENSSL_MAGIC.length).equals(OPENSSL_MAGIC) ||
    body.length === 0 ||
    body.length % AES_BLOCK_BYTES !== 0
  ) {
    throw new UserContextError('the payload is not an OpenSSL/CryptoJS salted ciphertext');
  }
  const salt = raw.subarray(OPENSSL_MAGIC.length, OPENSSL_MAGIC.length + SALT_BYTES);
  const { key, iv } = deriveKeyAndIv(Buffer.from(sharedSecret, 'utf8'), salt);
  let text: string;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, iv);
    text = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw new UserContextError('the payload does not decrypt with the shared secret');
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
