import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A 20-character alphanumeric id, the shape GHL uses for locations, contacts, messages, ... */
export function ghlId(length = 20): string {
  const bytes = randomBytes(length * 2);
  let id = '';
  for (let i = 0; i < bytes.length && id.length < length; i++) {
    // 248 = 4 * 62: rejecting bytes above it keeps every character equally likely.
    if (bytes[i] < 248) id += ALPHABET[bytes[i] % ALPHABET.length];
  }
  return id.length === length ? id : ghlId(length);
}
