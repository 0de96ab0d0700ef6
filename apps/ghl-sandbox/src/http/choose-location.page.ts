import type { GrantSelection } from '@app/ghl-sandbox-client/admin-api.types';
import type { SandboxContext } from '../sandbox-context';
import { GhlHttpError } from './ghl-http.error';

export const CHOOSE_LOCATION_PATHS = ['/v2/oauth/chooselocation', '/oauth/chooselocation'];
const APPROVE_SUFFIX = '/approve';

export interface PageResult {
  status: number;
  headers: Record<string, string>;
  html?: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** True for the marketplace's consent page and the sandbox's "approve" link behind it. */
export function isChooseLocationPath(path: string): boolean {
  return CHOOSE_LOCATION_PATHS.some((p) => path === p || path === p + APPROVE_SUFFIX);
}

/**
 * The marketplace consent page (GHL-CONTRACT §2.1): `GET /v2/oauth/chooselocation?response_type=code
 * &redirect_uri=…&client_id=…&scope=…` ends in a 302 to `redirect_uri?code=<one-time code>`. The legacy
 * path without `/v2` (the SDK still builds it) works too. Which location or company is granted is
 * scripted through the admin API (`POST /admin/oauth/next-grant`); in auto-approve mode the first
 * location is granted; otherwise a small HTML page lets a person pick.
 */
export function chooseLocation(ctx: SandboxContext, path: string, query: URLSearchParams): PageResult {
  const clientId = query.get('client_id');
  const redirectUri = query.get('redirect_uri');
  if (query.get('response_type') !== 'code') throw GhlHttpError.badRequest('Invalid response_type');
  if (clientId !== ctx.config.clientId) throw GhlHttpError.badRequest('Invalid client_id');
  if (!redirectUri || !/^https?:\/\//.test(redirectUri))
    throw GhlHttpError.badRequest('Invalid redirect_uri');
  const requestedScopes = query.get('scope')?.split(/\s+/).filter(Boolean);

  let grant: GrantSelection | null;
  if (path.endsWith(APPROVE_SUFFIX)) {
    const locationId = query.get('locationId');
    const companyId = query.get('companyId');
    grant = locationId
      ? { userType: 'Location', locationId }
      : companyId
        ? { userType: 'Company', companyId }
        : null;
    if (!grant) throw GhlHttpError.badRequest('Choose a location or a company');
  } else {
    grant = ctx.oauth.nextGrant();
  }
  if (!grant)
    return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, html: page(ctx, query) };

  const code = ctx.oauth.approve({ ...grant, scopes: grant.scopes ?? requestedScopes }, redirectUri);
  const target = new URL(redirectUri);
  target.searchParams.set('code', code.code);
  // `state` is not in GHL's docs; third-party clients send it and expect it back (§2.1), so pass it through.
  const state = query.get('state');
  if (state !== null) target.searchParams.set('state', state);
  return { status: 302, headers: { location: target.toString() } };
}

function page(ctx: SandboxContext, query: URLSearchParams): string {
  const link = (extra: Record<string, string>): string => {
    const q = new URLSearchParams(query);
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    return `/v2/oauth/chooselocation${APPROVE_SUFFIX}?${q.toString()}`;
  };
  const locations = [...ctx.state.locations.values()]
    .map(
      (l) =>
        `<li><a href="${escapeHtml(link({ locationId: l.id }))}">${escapeHtml(l.name)}</a> <code>${escapeHtml(l.id)}</code></li>`,
    )
    .join('');
  const companies = [...ctx.state.companies.values()]
    .map(
      (c) =>
        `<li><a href="${escapeHtml(link({ companyId: c.id }))}">${escapeHtml(c.name)}</a> (agency, ${c.locationIds.length} locations)</li>`,
    )
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Choose a location – GHL sandbox</title></head>
<body><h1>Install app ${escapeHtml(ctx.config.appId)}</h1>
<h2>Sub-accounts</h2><ul>${locations || '<li>No locations yet (POST /admin/locations)</li>'}</ul>
<h2>Agencies</h2><ul>${companies || '<li>No agencies yet</li>'}</ul></body></html>`;
}
