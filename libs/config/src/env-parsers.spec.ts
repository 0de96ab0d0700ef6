import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { encryptionKey, httpBaseUrl, instanceId, natsUrls, pemPublicKey, postgresUrl } from './env-parsers';

const ed25519 = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (
  key: { export(o: { type: 'spki' | 'pkcs8'; format: 'pem' }): string | Buffer },
  type: 'spki' | 'pkcs8',
) => String(key.export({ type, format: 'pem' }));

describe('env parsers', () => {
  describe('encryptionKey', () => {
    it('accepts the base64 of exactly 32 bytes', () => {
      const key = randomBytes(32).toString('base64');
      expect(encryptionKey(key)).toEqual({ ok: true, value: key });
    });

    it.each([
      ['31 bytes', randomBytes(31).toString('base64')],
      ['33 bytes', randomBytes(33).toString('base64')],
      ['not base64', '!'.repeat(44)],
      ['hex of 32 bytes', randomBytes(32).toString('hex')],
    ])('refuses %s', (_label, value) => {
      expect(encryptionKey(value)).toEqual({ ok: false, message: 'must be 32 bytes base64' });
    });
  });

  describe('natsUrls', () => {
    it('splits a comma-separated list', () => {
      expect(natsUrls('nats://a:4222, nats://b:4222,tls://c:4222')).toEqual({
        ok: true,
        value: ['nats://a:4222', 'nats://b:4222', 'tls://c:4222'],
      });
    });

    it.each(['http://a:4222', 'nats://a:4222,', 'localhost:4222', 'nats://'])('refuses %p', (value) => {
      expect(natsUrls(value).ok).toBe(false);
    });
  });

  it('postgresUrl accepts postgres:// and postgresql:// only', () => {
    expect(postgresUrl('postgres://u@h:5432/db').ok).toBe(true);
    expect(postgresUrl('postgresql://u@h/db').ok).toBe(true);
    expect(postgresUrl('mysql://u@h/db')).toEqual({ ok: false, message: 'must be a postgres:// URL' });
  });

  it('httpBaseUrl drops the trailing slash', () => {
    expect(httpBaseUrl('https://example.com/base/')).toEqual({ ok: true, value: 'https://example.com/base' });
    expect(httpBaseUrl('ftp://example.com').ok).toBe(false);
  });

  it('instanceId refuses characters that cannot sit in a NATS subject token', () => {
    expect(instanceId('worker-1_a').ok).toBe(true);
    for (const bad of ['a.b', 'a b', 'a*', 'a>', '-a', '', 'x'.repeat(129)])
      expect(instanceId(bad).ok).toBe(false);
  });

  describe('pemPublicKey', () => {
    const ed25519Pem = pem(ed25519.publicKey, 'spki');
    const rsaPem = pem(rsa.publicKey, 'spki');

    it('accepts a public key of the right type', () => {
      expect(pemPublicKey('ed25519')(ed25519Pem)).toEqual({ ok: true, value: ed25519Pem });
      expect(pemPublicKey('rsa')(rsaPem)).toEqual({ ok: true, value: rsaPem });
    });

    it('accepts literal \\n in place of newlines', () => {
      expect(pemPublicKey('ed25519')(ed25519Pem.replace(/\n/g, '\\n'))).toEqual({
        ok: true,
        value: ed25519Pem,
      });
    });

    it('refuses the wrong key type, a private key and garbage', () => {
      expect(pemPublicKey('ed25519')(rsaPem)).toEqual({
        ok: false,
        message: 'must be a PEM Ed25519 public key',
      });
      expect(pemPublicKey('rsa')(ed25519Pem)).toEqual({ ok: false, message: 'must be a PEM RSA public key' });
      expect(pemPublicKey('ed25519')(pem(ed25519.privateKey, 'pkcs8')).ok).toBe(false);
      expect(pemPublicKey('rsa')('-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----').ok).toBe(
        false,
      );
    });
  });
});
