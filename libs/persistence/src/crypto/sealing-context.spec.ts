import { sealingContext } from './sealing-context';

describe('sealingContext', () => {
  it('names the row a value belongs to', () => {
    expect(sealingContext.authState('loc1', 'creds', '')).toBe('auth:loc1:creds:');
    expect(sealingContext.authState('loc1', 'session', '15550000001.0:2@s.whatsapp.net')).toBe(
      'auth:loc1:session:15550000001.0:2@s.whatsapp.net',
    );
    expect(sealingContext.oauthToken('location', 'loc1', 'refresh')).toBe('oauth:location:loc1:refresh');
  });

  it('refuses parts that would make two rows share an AAD', () => {
    expect(() => sealingContext.authState('loc:1', 'creds', '')).toThrow(RangeError);
    expect(() => sealingContext.authState('loc1', '', 'x')).toThrow(RangeError);
    expect(() => sealingContext.oauthToken('company', 'a:b', 'access')).toThrow(RangeError);
  });
});
