import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * CryptoJS's passphrase AES, which is OpenSSL's `enc -aes-256-cbc -md md5` format:
 * base64("Salted__" + 8-byte salt + ciphertext), key and IV from EVP_BytesToKey (MD5, one iteration),
 * AES-256-CBC with PKCS#7 padding. GHL encrypts the custom-page user context this way
 * (`CryptoJS.AES.encrypt(JSON.stringify(user), sharedSecret)`, GHL-CONTRACT §8): the api opens it, the
 * GHL sandbox makes it. Written with node:crypto, so neither needs crypto-js.
 *
 * CBC has no integrity check: a wrong passphrase or a forged payload shows up as a padding error, or
 * as bytes that decrypt to garbage. Callers must validate what they get.
 */

const MAGIC = Buffer.from('Salted__', 'latin1');
const SALT_BYTES = 8;
const KEY_BYTES = 32;
const IV_BYTES = 16;
const AES_BLOCK_BYTES = 16;

export class CryptoJsAesError extends Error {
  override readonly name = 'CryptoJsAesError';

  constructor(
    /** `malformed`: not this format at all; `undecryptable`: the passphrase does not open it. */
    readonly reason: 'malformed' | 'undecryptable',
    message: string,
  ) {
    super(message);
  }
}

/** OpenSSL's EVP_BytesToKey with MD5 and one iteration: D_i = MD5(D_{i-1} || passphrase || salt). */
function evpBytesToKey(passphrase: Buffer, salt: Buffer): { key: Buffer; iv: Buffer } {
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  let length = 0;
  while (length < KEY_BYTES + IV_BYTES) {
    previous = createHash('md5')
      .update(Buffer.concat([previous, passphrase, salt]))
      .digest();
    blocks.push(previous);
    length += previous.length;
  }
  const material = Buffer.concat(blocks);
  return { key: material.subarray(0, KEY_BYTES), iv: material.subarray(KEY_BYTES, KEY_BYTES + IV_BYTES) };
}

/** Encrypts like `CryptoJS.AES.encrypt(plaintext, passphrase).toString()`. */
export function cryptoJsAesEncrypt(
  plaintext: string,
  passphrase: string,
  salt: Buffer = randomBytes(SALT_BYTES),
): string {
  if (salt.length !== SALT_BYTES) throw new Error(`salt must be ${SALT_BYTES} bytes`);
  const { key, iv } = evpBytesToKey(Buffer.from(passphrase, 'utf8'), salt);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([MAGIC, salt, body]).toString('base64');
}

/** Decrypts like `CryptoJS.AES.decrypt(ciphertext, passphrase).toString(CryptoJS.enc.Utf8)`. */
export function cryptoJsAesDecrypt(ciphertext: string, passphrase: string): string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(ciphertext)) throw new CryptoJsAesError('malformed', 'not base64');
  const raw = Buffer.from(ciphertext, 'base64');
  const body = raw.subarray(MAGIC.length + SALT_BYTES);
  if (
    !raw.subarray(0, MAGIC.length).equals(MAGIC) ||
    body.length === 0 ||
    body.length % AES_BLOCK_BYTES !== 0
  ) {
    throw new CryptoJsAesError('malformed', 'not an OpenSSL/CryptoJS salted ciphertext');
  }
  const salt = raw.subarray(MAGIC.length, MAGIC.length + SALT_BYTES);
  const { key, iv } = evpBytesToKey(Buffer.from(passphrase, 'utf8'), salt);
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, iv);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw new CryptoJsAesError('undecryptable', 'does not decrypt with this passphrase');
  }
}
