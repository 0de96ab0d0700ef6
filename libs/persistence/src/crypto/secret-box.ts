import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { SecretBoxError } from './secret-box.error';

export interface SecretKey {
  /** 0-255, stored in every ciphertext so old values stay readable after a key rotation. */
  readonly id: number;
  /** Exactly 32 bytes. */
  readonly key: Buffer;
}

const FORMAT_VERSION = 1;
const KEY_BYTES = 32;
/** 96-bit IVs are GCM's native size; random IVs are safe far beyond our write volume per key. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 2;
const IV_OFFSET = HEADER_BYTES;
const TAG_OFFSET = IV_OFFSET + IV_BYTES;
const CIPHERTEXT_OFFSET = TAG_OFFSET + TAG_BYTES;

/**
 * Encryption at rest for auth state and OAuth tokens: AES-256-GCM.
 *
 * Output: `version (1) | key id (1) | IV (12) | tag (16) | ciphertext`. The two header bytes are
 * authenticated along with the caller's AAD, so neither can be altered to steer decryption.
 *
 * The AAD names the row a value belongs to (e.g. `auth:<locationId>:<category>:<keyId>`): a ciphertext
 * copied to another row, or another tenant's row, fails to open even though the key is shared.
 *
 * Rotation: seal with the current key, open with any known key; `needsReseal` tells a writer that a
 * value is under an old key and should be written again.
 */
export class SecretBox {
  private readonly keys = new Map<number, KeyObject>();
  private readonly currentId: number;

  constructor(current: SecretKey, previous: readonly SecretKey[] = []) {
    for (const { id, key } of [current, ...previous]) {
      if (!Number.isInteger(id) || id < 0 || id > 255)
        throw new RangeError(`key id must be 0-255, got ${id}`);
      if (key.length !== KEY_BYTES)
        throw new RangeError(`key ${id} must be ${KEY_BYTES} bytes, got ${key.length}`);
      if (this.keys.has(id)) throw new RangeError(`key id ${id} is given twice`);
      // A KeyObject keeps the bytes out of `util.inspect`, so logging this object leaks nothing.
      this.keys.set(id, createSecretKey(Buffer.from(key)));
    }
    this.currentId = current.id;
  }

  /** From ENCRYPTION_KEY (base64 of 32 bytes, e.g. `openssl rand -base64 32`). */
  static fromBase64(base64Key: string, keyId = 1): SecretBox {
    return new SecretBox({ id: keyId, key: Buffer.from(base64Key, 'base64') });
  }

  get currentKeyId(): number {
    return this.currentId;
  }

  seal(plaintext: Buffer | string, aad: string): Buffer {
    const header = Buffer.from([FORMAT_VERSION, this.currentId]);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.currentId), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(header, aad));
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
    return Buffer.concat([header, iv, cipher.getAuthTag(), ciphertext]);
  }

  open(sealed: Buffer, aad: string): Buffer {
    if (sealed.length < CIPHERTEXT_OFFSET) throw new SecretBoxError('malformed');
    if (sealed[0] !== FORMAT_VERSION) throw new SecretBoxError('unsupported-version');
    const keyId = sealed[1];
    if (!this.keys.has(keyId)) throw new SecretBoxError('unknown-key');

    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.key(keyId),
      sealed.subarray(IV_OFFSET, TAG_OFFSET),
      { authTagLength: TAG_BYTES },
    );
    decipher.setAuthTag(sealed.subarray(TAG_OFFSET, CIPHERTEXT_OFFSET));
    decipher.setAAD(associatedData(sealed.subarray(0, HEADER_BYTES), aad));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(CIPHERTEXT_OFFSET)), decipher.final()]);
    } catch {
      throw new SecretBoxError('authentication-failed');
    }
  }

  openString(sealed: Buffer, aad: string): string {
    return this.open(sealed, aad).toString('utf8');
  }

  /** True when `sealed` was written under a key other than the current one. */
  needsReseal(sealed: Buffer): boolean {
    return sealed.length < HEADER_BYTES || sealed[1] !== this.currentId;
  }

  private key(id: number): KeyObject {
    const key = this.keys.get(id);
    if (!key) throw new SecretBoxError('unknown-key');
    return key;
  }
}

/** The header has a fixed length, so header + AAD is unambiguous without a separator. */
function associatedData(header: Buffer, aad: string): Buffer {
  return Buffer.concat([header, Buffer.from(aad, 'utf8')]);
}
