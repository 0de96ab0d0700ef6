/**
 * The browser origins GHL shows our pages and calls our API from: its own app domains plus a tenant's
 * white-label domains (configured). The same list feeds CORS and the dashboard's `frame-ancestors`,
 * so what may embed the page is exactly what may call the API from a browser.
 */
export const GHL_ORIGINS = [
  'https://app.gohighlevel.com',
  'https://*.gohighlevel.com',
  'https://*.leadconnectorhq.com',
] as const;

export class AllowedOrigins {
  readonly patterns: readonly string[];

  constructor(whiteLabel: readonly string[]) {
    this.patterns = [...new Set([...GHL_ORIGINS, ...whiteLabel.map((o) => o.toLowerCase())])];
  }

  /** Whether a request's `Origin` is one of ours; `*.` matches subdomains of any depth, as in CSP. */
  allows(origin: string | undefined): boolean {
    if (!origin) return false;
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      return false;
    }
    if (parsed.origin === 'null' || `${parsed.origin}` !== origin.toLowerCase().replace(/\/$/, ''))
      return false;
    return this.patterns.some((pattern) => matches(parsed, pattern));
  }

  /** The CSP `frame-ancestors` sources: the page itself (local testing) and every allowed origin. */
  frameAncestors(): string {
    return ["'self'", ...this.patterns].join(' ');
  }
}

function matches(origin: URL, pattern: string): boolean {
  const wildcard = pattern.includes('://*.');
  const target = new URL(pattern.replace('://*.', '://wildcard.'));
  if (origin.protocol !== target.protocol || origin.port !== target.port) return false;
  if (!wildcard) return origin.hostname === target.hostname;
  const suffix = target.hostname.slice('wildcard'.length); // ".example.com"
  return origin.hostname.endsWith(suffix) && origin.hostname.length > suffix.length;
}
