import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { SecretBox } from './secret-box';
import { SecretBoxError } from './secret-box.error';

const key1 = { id: 1, key: randomBytes(32) };
const key2 = { id: 2, key: randomBytes(32) };
const AAD = 'auth:loc1:creds:';

function failureOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof SecretBoxError) return error.failure;
    throw error;
  }
  throw new Error('expected a SecretBoxError');
}

function flipBit(buffer: Buffer, index: number): Buffer {
  const copy = Buffer.from(buffer);
  copy[index] = copy[index] ^ 0x01;
  return copy;
}

describe('SecretBox', () => {
  const box = new SecretBox(key1);

  it('round-trips text and binary, including empty values', () => {
    expect(box.openString(box.seal('{"me":"+15550000001"}', AAD), AAD)).toBe('{"me":"+15550000001"}');
    const binary = randomBytes(1000);
    expect(box.open(box.seal(binary, AAD), AAD).equals(binary)).toBe(true);
    expect(box.open(box.seal('', AAD), AAD)).toHaveLength(0);
  });

  it('writes version, key id, a fresh IV, the tag, then the ciphertext', () => {
    const a = box.seal('same', AAD);
    const b = box.seal('same', AAD);
    expect(a).toHaveLength(1 + 1 + 12 + 16 + 4);
    expect(a[0]).toBe(1);
    expect(a[1]).toBe(1);
    expect(a.subarray(2, 14).equals(b.subarray(2, 14))).toBe(false);
    expect(a.subarray(30).toString('utf8')).not.toBe('same');
  });

  it('detects tampering anywhere in the sealed value', () => {
    const sealed = box.seal('secret credentials', AAD);
    for (const index of [2, 13, 14, 29, 30, sealed.length - 1]) {
      expect(failureOf(() => box.open(flipBit(sealed, index), AAD))).toBe('authentication-failed');
    }
    expect(failureOf(() => box.open(sealed.subarray(0, sealed.length - 1), AAD))).toBe(
      'authentication-failed',
    );
  });

  it('refuses a value sealed for another row (wrong AAD)', () => {
    const sealed = box.seal('secret', 'auth:loc1:creds:');
    expect(failureOf(() => box.open(sealed, 'auth:loc2:creds:'))).toBe('authentication-failed');
    expect(failureOf(() => box.open(sealed, ''))).toBe('authentication-failed');
  });

  it('refuses to open with the wrong key', () => {
    const other = new SecretBox({ id: 1, key: randomBytes(32) });
    expect(failureOf(() => other.open(box.seal('secret', AAD), AAD))).toBe('authentication-failed');
  });

  it('authenticates the header: a rewritten key id cannot redirect decryption', () => {
    const both = new SecretBox(key1, [key2]);
    const sealed = both.seal('secret', AAD);
    const relabelled = Buffer.from(sealed);
    relabelled[1] = 2;
    expect(failureOf(() => both.open(relabelled, AAD))).toBe('authentication-failed');
  });

  it('rejects malformed input, unknown versions and unknown keys', () => {
    expect(failureOf(() => box.open(Buffer.alloc(29), AAD))).toBe('malformed');
    const sealed = box.seal('x', AAD);
    const v2 = Buffer.from(sealed);
    v2[0] = 2;
    expect(failureOf(() => box.open(v2, AAD))).toBe('unsupported-version');
    expect(failureOf(() => new SecretBox(key2).open(sealed, AAD))).toBe('unknown-key');
  });

  it('reads values sealed under a previous key after rotation, and says they need resealing', () => {
    const before = new SecretBox(key1);
    const after = new SecretBox(key2, [key1]);
    const old = before.seal('token', AAD);
    expect(after.openString(old, AAD)).toBe('token');
    expect(after.needsReseal(old)).toBe(true);
    const fresh = after.seal('token', AAD);
    expect(fresh[1]).toBe(2);
    expect(after.needsReseal(fresh)).toBe(false);
    expect(after.currentKeyId).toBe(2);
  });

  it('accepts only 32-byte keys with ids 0-255, each id once', () => {
    expect(() => new SecretBox({ id: 1, key: randomBytes(16) })).toThrow('must be 32 bytes');
    expect(() => new SecretBox({ id: 256, key: randomBytes(32) })).toThrow('key id must be 0-255');
    expect(() => new SecretBox(key1, [key1])).toThrow('given twice');
    expect(() => SecretBox.fromBase64('c2hvcnQ=')).toThrow('must be 32 bytes');
  });

  it('builds from a base64 key with key id 1', () => {
    const fromEnv = SecretBox.fromBase64(key1.key.toString('base64'));
    expect(fromEnv.currentKeyId).toBe(1);
    expect(box.openString(fromEnv.seal('x', AAD), AAD)).toBe('x');
  });

  it('does not reveal key bytes when inspected or logged', () => {
    const shown = inspect(box, { depth: 10 });
    expect(shown).not.toContain(key1.key.toString('hex'));
    expect(shown).not.toContain(key1.key.toString('base64'));
    expect(JSON.stringify(box)).not.toContain(key1.key.toString('base64'));
  });
});
