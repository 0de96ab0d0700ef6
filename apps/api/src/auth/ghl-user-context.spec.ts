import { cryptoJsAesEncrypt } from '@app/cryptojs-aes';
import { encryptUserContext } from '@app/ghl-sandbox-client/sso-user-context';
import { execFileSync } from 'node:child_process';
import { decryptGhlUserContext, UserContextError } from './ghl-user-context';

const SECRET = 'shared-secret-for-tests';
const user = {
  userId: 'user-1',
  companyId: 'company-1',
  role: 'admin',
  type: 'location',
  userName: 'Ada',
  email: 'ada@example.com',
  activeLocation: 'locA000000000000001',
};

describe('decryptGhlUserContext', () => {
  it("opens a payload made the way GHL's CryptoJS makes it", () => {
    expect(decryptGhlUserContext(encryptUserContext(user, SECRET), SECRET)).toEqual(user);
  });

  it('opens a payload made by OpenSSL itself (the format is OpenSSL enc -md md5)', () => {
    const payload = execFileSync(
      'openssl',
      ['enc', '-aes-256-cbc', '-md', 'md5', '-a', '-A', '-salt', '-pass', `pass:${SECRET}`],
      { input: JSON.stringify(user), stdio: ['pipe', 'pipe', 'ignore'] },
    )
      .toString()
      .trim();
    expect(decryptGhlUserContext(payload, SECRET).activeLocation).toBe(user.activeLocation);
  });

  it('ignores fields GHL adds later and accepts an agency context without a location', () => {
    const agency = { userId: 'u', companyId: 'c', role: 'user', type: 'agency', newField: { x: 1 } };
    expect(decryptGhlUserContext(encryptUserContext(agency, SECRET), SECRET)).toEqual({
      userId: 'u',
      companyId: 'c',
      role: 'user',
      type: 'agency',
    });
  });

  it('refuses a payload made with another secret, a tampered one, junk, and JSON without a user', () => {
    const good = encryptUserContext(user, SECRET);
    const tampered = Buffer.from(good, 'base64');
    tampered[tampered.length - 1] ^= 0x01;
    const cases = [
      encryptUserContext(user, 'another-secret'),
      tampered.toString('base64'),
      'not base64 at all!',
      Buffer.from('Salted__short').toString('base64'),
      cryptoJsAesEncrypt('"just a string"', SECRET),
      encryptUserContext({ activeLocation: 'locA' }, SECRET),
    ];
    for (const payload of cases) {
      expect(() => decryptGhlUserContext(payload, SECRET)).toThrow(UserContextError);
    }
  });
});
