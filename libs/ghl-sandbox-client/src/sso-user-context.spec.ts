import { decryptUserContext, encryptUserContext } from './sso-user-context';

describe('custom-page user context (GHL-CONTRACT §8)', () => {
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
});
