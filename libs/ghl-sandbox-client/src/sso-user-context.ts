import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * The custom-page user context (GHL-CONTRACT §8): GHL hands the iframe a string made by
 * `CryptoJS.AES.encrypt(JSON.stringify(user), sharedSecret)`, and the backend opens it with
 * `CryptoJS.AES.decrypt(payload, sharedSecret)`. CryptoJS's passphrase mode is OpenSSL's format:
 * base64("Salted__" + 8-byte salt + ciphertext), key and IV from EVP_BytesToKey(MD5, 1 iteration),
 * AES-256-CBC with PKCS#7 padding. Written with node:crypto so neither side needs crypto-js.
 */

const MAGIC = Buffer.from('Salted__', 'latin1');
const SALT_BYTES = 8;
const KEY_BYTES = 32;
const IV_BYTES = 16;

/** OpenSSL's EVP_BytesToKey with MD5 and one iteration: D_i = MD5(D_{i-1} || pass || salt). */
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
  salt = randomBytes(SALT_BYTES),
): string {
  if (salt.length !== SALT_BYTES) throw new Error(`salt must be ${SALT_BYTES} bytes`);
  const { key, iv } = evpBytesToKey(Buffer.from(passphrase, 'utf8'), salt);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([MAGIC, salt, body]).toString('base64');
}

/** Decrypts like `CryptoJS.AES.decrypt(ciphertext, passphrase).toString(CryptoJS.enc.Utf8)`. */
export function cryptoJsAesDecrypt(ciphertext: string, passphrase: string): string {
  const raw = Buffer.from(ciphertext, 'base64');
  if (raw.length < MAGIC.length + SALT_BYTES + 16 || !raw.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error('not an OpenSSL/CryptoJS salted ciphertext');
  }
  const salt = raw.subarray(MAGIC.length, MAGIC.length + SALT_BYTES);
  const { key, iv } = evpBytesToKey(Buffer.from(passphrase, 'utf8'), salt);
  const decipher = createDecipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([decipher.update(raw.subarray(MAGIC.length + SALT_BYTES)), decipher.final()]).toString(
    'utf8',
  );
}

/** The encrypted string a custom page receives as `REQUEST_USER_DATA_RESPONSE` payload. */
export function encryptUserContext(context: object, sharedSecret: string): string {
  return cryptoJsAesEncrypt(JSON.stringify(context), sharedSecret);
}

export function decryptUserContext<T = Record<string, unknown>>(payload: string, sharedSecret: string): T {
  return JSON.parse(cryptoJsAesDecrypt(payload, sharedSecret)) as T;
}
