import {
  cryptoJsAesDecrypt,
  cryptoJsAesEncrypt,
  decryptUserContext,
  encryptUserContext,
} from './sso-user-context';

// Made with OpenSSL (`openssl enc -aes-256-cbc -md md5 -pass pass:sandbox-shared-secret
// -S 0102030405060708 -a`), prefixed with "Salted__" + salt: the CryptoJS passphrase format.
const VECTOR = 'U2FsdGVkX18BAgMEBQYHCEaFqW/OzW+UbuRdRPPcjsgYCTZJ7hlM3lAmbRaxi/9NI1Kr1kXkmq4OiBzE6zdKGg==';
const PLAINTEXT = '{"userId":"u1","activeLocation":"loc1"}';

describe('CryptoJS/OpenSSL-compatible AES (custom-page user context, GHL-CONTRACT §8)', () => {
  it('encrypts exactly like OpenSSL for a fixed salt', () => {
    expect(
      cryptoJsAesEncrypt(PLAINTEXT, 'sandbox-shared-secret', Buffer.from('0102030405060708', 'hex')),
    ).toBe(VECTOR);
  });

  it('decrypts an OpenSSL-made payload', () => {
    expect(cryptoJsAesDecrypt(VECTOR, 'sandbox-shared-secret')).toBe(PLAINTEXT);
  });

  it('round-trips a user context with a random salt, and fails with another secret', () => {
    const context = {
      userId: 'u',
      companyId: 'c',
      role: 'admin',
      type: 'location',
      userName: 'N',
      email: 'e@x',
      activeLocation: 'l',
    };
    const a = encryptUserContext(context, 's3cret');
    const b = encryptUserContext(context, 's3cret');
    expect(a).not.toBe(b);
    expect(decryptUserContext(a, 's3cret')).toEqual(context);
    expect(() => decryptUserContext(a, 'other')).toThrow();
  });

  it('rejects input without the Salted__ header', () => {
    expect(() => cryptoJsAesDecrypt(Buffer.from('not salted at all, no').toString('base64'), 'x')).toThrow(
      /salted/,
    );
  });
});
