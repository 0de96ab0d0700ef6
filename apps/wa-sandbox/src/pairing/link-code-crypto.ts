import { createCipheriv, createDecipheriv, hkdfSync, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Curve, type KeyPair } from '@whiskeysockets/baileys';

/**
 * The primary phone's half of "link with phone number" (Baileys' `requestPairingCode` and the
 * `link_code_companion_reg` notification handler in `messages-recv.js`).
 */

/** 2 << 16 iterations, as in Baileys' `derivePairingCodeKey`. */
const PBKDF2_ITERATIONS = 131_072;

function codeKey(code: string, salt: Buffer): Buffer {
  return pbkdf2Sync(Buffer.from(code, 'utf8'), salt, PBKDF2_ITERATIONS, 32, 'sha256');
}

function aesCtr(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** Codes are shown as `ABCD-EFGH`; the key derivation uses the 8 characters. */
export function normalizePairingCode(code: string): string {
  return code.replace(/[-\s]/g, '').toUpperCase();
}

/** `salt(32) ‖ iv(16) ‖ AES-CTR(pub)` under PBKDF2(code, salt): unwraps the companion's ephemeral key. */
export function unwrapEphemeral(wrapped: Buffer, code: string): Buffer {
  if (wrapped.length < 80) throw new Error('wrapped ephemeral key is too short');
  const salt = wrapped.subarray(0, 32);
  const iv = wrapped.subarray(32, 48);
  const decipher = createDecipheriv('aes-256-ctr', codeKey(code, salt), iv);
  return Buffer.concat([decipher.update(wrapped.subarray(48, 80)), decipher.final()]);
}

export function wrapEphemeral(publicKey: Uint8Array, code: string): Buffer {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  return Buffer.concat([salt, iv, aesCtr(codeKey(code, salt), iv, Buffer.from(publicKey))]);
}

export interface CompanionKeyBundle {
  companionIdentity: Buffer;
  primaryIdentity: Buffer;
  random: Buffer;
}

/** Opens the companion's `link_code_pairing_wrapped_key_bundle`; fails (GCM tag) on a wrong code. */
export function openKeyBundle(
  wrapped: Buffer,
  primaryEphemeral: KeyPair,
  companionEphemeral: Buffer,
): CompanionKeyBundle {
  const shared = Curve.sharedKey(primaryEphemeral.private, companionEphemeral);
  const salt = wrapped.subarray(0, 32);
  const iv = wrapped.subarray(32, 44);
  const key = Buffer.from(
    hkdfSync('sha256', shared, salt, 'link_code_pairing_key_bundle_encryption_key', 32),
  );
  const plain = decryptGcmWithIv(key, iv, wrapped.subarray(44));
  if (plain.length !== 96) throw new Error('key bundle has the wrong length');
  return {
    companionIdentity: plain.subarray(0, 32),
    primaryIdentity: plain.subarray(32, 64),
    random: plain.subarray(64),
  };
}

/** The ADV secret both sides derive; it replaces the one a QR would have carried. */
export function deriveAdvSecret(
  primaryEphemeral: KeyPair,
  companionEphemeral: Buffer,
  accountIdentity: KeyPair,
  companionIdentity: Buffer,
  random: Buffer,
): Buffer {
  const companionShared = Curve.sharedKey(primaryEphemeral.private, companionEphemeral);
  const identityShared = Curve.sharedKey(accountIdentity.private, companionIdentity);
  const ikm = Buffer.concat([companionShared, identityShared, random]);
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), 'adv_secret', 32));
}

function decryptGcmWithIv(key: Buffer, iv: Buffer, ciphertext: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  return Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
}
