import { AllowedOrigins } from './allowed-origins';

describe('AllowedOrigins', () => {
  const origins = new AllowedOrigins([
    'https://app.myagency.com',
    'https://*.white.io',
    'http://localhost:5173',
  ]);

  it("allows GHL's own domains and the configured white-label ones", () => {
    for (const origin of [
      'https://app.gohighlevel.com',
      'https://marketplace.gohighlevel.com',
      'https://app.leadconnectorhq.com',
      'https://a.b.leadconnectorhq.com',
      'https://app.myagency.com',
      'https://crm.white.io',
      'http://localhost:5173',
    ]) {
      expect(origins.allows(origin)).toBe(true);
    }
  });

  it('refuses look-alikes, other schemes and ports, the bare wildcard domain and garbage', () => {
    for (const origin of [
      undefined,
      '',
      'null',
      'https://evilgohighlevel.com',
      'https://gohighlevel.com.evil.com',
      'http://app.gohighlevel.com',
      'https://app.gohighlevel.com:8443',
      'https://white.io',
      'https://other.myagency.com',
      'http://localhost:3000',
      'not a url',
      'https://app.gohighlevel.com/path',
    ]) {
      expect(origins.allows(origin)).toBe(false);
    }
  });

  it('lists the same origins as frame ancestors, plus the page itself', () => {
    expect(origins.frameAncestors()).toBe(
      "'self' https://app.gohighlevel.com https://*.gohighlevel.com https://*.leadconnectorhq.com " +
        'https://app.myagency.com https://*.white.io http://localhost:5173',
    );
  });
});
