import { execFileSync } from 'node:child_process';
import { CryptoJsAesError, cryptoJsAesDecrypt, cryptoJsAesEncrypt } from './cryptojs-aes';

// Made with OpenSSL (`openssl enc -aes-256-cbc -md md5 -pass pass:sandbox-shared-secret
// -S 0102030405060708 -a`), prefixed with "Salted__" + salt: the CryptoJS passphrase format.
const VECTOR = 'U2FsdGVkX18BAgMEBQYHCEaFqW/OzW+UbuRdRPPcjsgYCTZJ7hlM3lAmbRaxi/9NI1Kr1kXkmq4OiBzE6zdKGg==';
const PLAINTEXT = '{"userId":"u1","activeLocation":"loc1"}';
const SECRET = 'sandbox-shared-secret';

function reasonOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof CryptoJsAesError) return error.reason;
    throw error;
  }
  throw new Error('expected a CryptoJsAesError');
}

describe('CryptoJS/OpenSSL passphrase AES (custom-page user context, GHL-CONTRACT §8)', () => {
  it('encrypts exactly like OpenSSL for a fixed salt', () => {
    expect(cryptoJsAesEncrypt(PLAINTEXT, SECRET, Buffer.from('0102030405060708', 'hex'))).toBe(VECTOR);
  });

  it('decrypts an OpenSSL-made payload, and one OpenSSL makes now with a random salt', () => {
    expect(cryptoJsAesDecrypt(VECTOR, SECRET)).toBe(PLAINTEXT);
    const fresh = execFileSync(
      'openssl',
      ['enc', '-aes-256-cbc', '-md', 'md5', '-a', '-A', '-salt', '-pass', `pass:${SECRET}`],
      { input: PLAINTEXT, stdio: ['pipe', 'pipe', 'ignore'] },
    )
      .toString()
      .trim();
    expect(cryptoJsAesDecrypt(fresh, SECRET)).toBe(PLAINTEXT);
  });

  it('salts every encryption at random, and round-trips', () => {
    const a = cryptoJsAesEncrypt(PLAINTEXT, SECRET);
    expect(a).not.toBe(cryptoJsAesEncrypt(PLAINTEXT, SECRET));
    expect(cryptoJsAesDecrypt(a, SECRET)).toBe(PLAINTEXT);
  });

  it('tells input that is not the format from input the passphrase does not open', () => {
    expect(reasonOf(() => cryptoJsAesDecrypt('not base64 at all!', SECRET))).toBe('malformed');
    expect(
      reasonOf(() => cryptoJsAesDecrypt(Buffer.from('not salted at all, no').toString('base64'), SECRET)),
    ).toBe('malformed');
    expect(reasonOf(() => cryptoJsAesDecrypt(Buffer.from('Salted__short').toString('base64'), SECRET))).toBe(
      'malformed',
    );
    // Wrong passphrases fail the padding check, except for about 1 in 256 keys, where garbage comes out.
    expect(reasonOf(() => cryptoJsAesDecrypt(VECTOR, 'another-secret'))).toBe('undecryptable');
  });

  it('refuses a salt of the wrong size', () => {
    expect(() => cryptoJsAesEncrypt(PLAINTEXT, SECRET, Buffer.alloc(4))).toThrow('salt must be 8 bytes');
  });
});
