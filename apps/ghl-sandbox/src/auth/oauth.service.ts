import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type {
  GrantSelection,
  InstallationDto,
  SandboxSettingsDto,
  TokenSelector,
  UserType,
} from '@app/ghl-sandbox-client/admin-api.types';
import type { SandboxConfig } from '../config/sandbox-config.schema';
import { GhlHttpError } from '../http/ghl-http.error';
import type { AuthCodeRecord, SandboxState, TokenRecord } from '../state/sandbox-state';

/** "The refresh tokens are valid for a year" (GHL-CONTRACT §2.2). */
const REFRESH_TTL_MS = 365 * 86_400_000;
/** Codes are exchanged at once by real callbacks; ten minutes is the common OAuth ceiling (assumed). */
const CODE_TTL_MS = 10 * 60_000;

export interface TokenSubject {
  userType: UserType;
  locationId?: string;
  companyId: string;
  userId: string;
  scopes: string[];
}

export interface InstallListener {
  (installs: InstallationDto[]): void;
}

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

/**
 * OAuth as GHL runs it (GHL-CONTRACT §2): one-time authorization codes, access tokens for a day,
 * refresh tokens that are single-use and rotate, location tokens minted from a company token.
 * Tokens are JWT-shaped (`bearerFormat: JWT`), but the state is the source of truth, so revoking
 * one takes effect at once.
 */
export class OAuthService {
  private readonly jwtKey = randomBytes(32);

  constructor(
    private readonly state: SandboxState,
    private readonly config: SandboxConfig,
    private readonly settings: SandboxSettingsDto,
    private readonly onInstall: InstallListener,
  ) {}

  // ---- tokens ----------------------------------------------------------------------------------

  private mint(kind: TokenRecord['kind'], subject: TokenSubject, ttlMs: number, now: number): TokenRecord {
    const payload = {
      authClass: subject.userType,
      authClassId: subject.userType === 'Location' ? subject.locationId : subject.companyId,
      source: 'INTEGRATION',
      sourceId: this.config.clientId,
      channel: 'OAUTH',
      primaryAuthClassId: subject.userType === 'Location' ? subject.locationId : subject.companyId,
      oauthMeta: { scopes: subject.scopes, client: this.config.appId, versionId: this.config.versionId },
      tokenType: kind,
      iat: Math.floor(now / 1000),
      exp: Math.floor((now + ttlMs) / 1000),
      jti: randomUUID(),
    };
    const unsigned = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
    const token = `${unsigned}.${createHmac('sha256', this.jwtKey).update(unsigned).digest('base64url')}`;
    const record: TokenRecord = {
      kind,
      token,
      ...subject,
      issuedAt: now,
      expiresAt: now + ttlMs,
      revoked: false,
    };
    this.state.tokens.set(token, record);
    return record;
  }

  issuePair(subject: TokenSubject, now = Date.now()): { access: TokenRecord; refresh: TokenRecord } {
    return {
      access: this.mint('access', subject, this.config.accessTokenTtlSeconds * 1000, now),
      refresh: this.mint('refresh', subject, REFRESH_TTL_MS, now),
    };
  }

  /** The live access token behind a bearer value, or null (unknown, expired, revoked). */
  verifyAccess(token: string, now = Date.now()): TokenRecord | null {
    const record = this.state.tokens.get(token);
    if (!record || record.kind !== 'access' || record.revoked || record.expiresAt <= now) return null;
    return record;
  }

  private tokenBody(access: TokenRecord, refresh: TokenRecord, extra: Record<string, unknown> = {}) {
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: Math.round((access.expiresAt - access.issuedAt) / 1000),
      refresh_token: refresh.token,
      scope: access.scopes.join(' '),
      userType: access.userType,
      ...(access.locationId ? { locationId: access.locationId } : {}),
      companyId: access.companyId,
      userId: access.userId,
      ...extra,
    };
  }

  private companyExtras(companyId: string): Record<string, unknown> {
    const install = this.state.companyInstalls.get(companyId);
    if (!install) return { isBulkInstallation: false };
    const approveAll = install.approvedLocationIds === undefined;
    return {
      // §12 Q7: whether approvedLocations is filled for bulk installs is open; listed when explicit.
      ...(approveAll ? {} : { approvedLocations: install.approvedLocationIds }),
      isBulkInstallation: !approveAll,
      installToFutureLocations: install.installToFutureLocations ?? false,
      approveAllLocations: approveAll,
    };
  }

  // ---- authorization (choose-location page) ------------------------------------------------------

  /** The grant the next choose-location visit approves: a scripted one, else the auto-approve default. */
  nextGrant(): GrantSelection | null {
    const scripted = this.state.pendingGrants.shift();
    if (scripted) return scripted;
    if (!this.settings.autoApprove) return null;
    const first = [...this.state.locations.values()][0];
    return first ? { userType: 'Location', locationId: first.id } : null;
  }

  /** Checks a grant against the state and returns it with defaults filled. */
  resolveGrant(grant: GrantSelection): GrantSelection & { userId: string } {
    const userId = grant.userId ?? this.state.newId();
    if (grant.userType === 'Location') {
      if (!this.state.locations.has(grant.locationId))
        throw GhlHttpError.badRequest(`Location ${grant.locationId} not found`);
      return { ...grant, userId };
    }
    const company = this.state.companies.get(grant.companyId);
    if (!company) throw GhlHttpError.badRequest(`Company ${grant.companyId} not found`);
    for (const id of grant.locationIds ?? []) {
      if (!company.locationIds.includes(id))
        throw GhlHttpError.badRequest(`Location ${id} is not in company ${company.id}`);
    }
    return { ...grant, userId };
  }

  /** The user approved: the app is installed now (before any code exchange, ISSUE #294) and a code issued. */
  approve(grantInput: GrantSelection, redirectUri: string | undefined, now = Date.now()): AuthCodeRecord {
    const grant = this.resolveGrant(grantInput);
    const scopes = grant.scopes ?? this.config.scopes;
    const unknown = scopes.filter((s) => !this.config.scopes.includes(s));
    if (unknown.length > 0) throw GhlHttpError.badRequest(`Invalid scope: ${unknown.join(' ')}`);
    const installedAt = new Date(now).toISOString();
    const installs: InstallationDto[] = [];
    if (grant.userType === 'Location') {
      const location = this.state.locations.get(grant.locationId)!;
      const install: InstallationDto = {
        userType: 'Location',
        companyId: location.companyId,
        locationId: location.id,
        userId: grant.userId,
        installedAt,
      };
      this.state.locationInstalls.set(location.id, install);
      installs.push(install);
    } else {
      const company = this.state.companies.get(grant.companyId)!;
      const companyInstall: InstallationDto = {
        userType: 'Company',
        companyId: company.id,
        userId: grant.userId,
        installedAt,
        ...(grant.locationIds ? { approvedLocationIds: [...grant.locationIds] } : {}),
        installToFutureLocations: grant.installToFutureLocations ?? grant.locationIds === undefined,
      };
      this.state.companyInstalls.set(company.id, companyInstall);
      installs.push(companyInstall);
      for (const locationId of grant.locationIds ?? company.locationIds) {
        const install: InstallationDto = {
          userType: 'Location',
          companyId: company.id,
          locationId,
          userId: grant.userId,
          installedAt,
        };
        this.state.locationInstalls.set(locationId, install);
        installs.push(install);
      }
    }
    const code: AuthCodeRecord = {
      code: randomBytes(20).toString('hex'),
      grant: { ...grant, scopes },
      clientId: this.config.clientId,
      ...(redirectUri ? { redirectUri } : {}),
      expiresAt: now + CODE_TTL_MS,
    };
    this.state.authCodes.set(code.code, code);
    this.onInstall(installs);
    return code;
  }

  // ---- POST /oauth/token ---------------------------------------------------------------------------

  /**
   * The token endpoint. Everything between the lookup and the write below is synchronous, so two
   * concurrent exchanges of one code or one refresh token can never both succeed.
   */
  token(form: Record<string, string>, now = Date.now()): Record<string, unknown> {
    if (form.client_id !== this.config.clientId || form.client_secret !== this.config.clientSecret) {
      throw GhlHttpError.unauthorized('Invalid client: client is invalid');
    }
    switch (form.grant_type) {
      case 'authorization_code':
        return this.exchangeCode(form, now);
      case 'refresh_token':
        return this.refresh(form, now);
      default:
        // client_credentials is in the enum but undocumented (GHL-CONTRACT §2.2).
        throw GhlHttpError.badRequest('Unsupported grant type: grant_type is invalid');
    }
  }

  private exchangeCode(form: Record<string, string>, now: number): Record<string, unknown> {
    if (!form.code) throw GhlHttpError.badRequest('Missing parameter: code');
    const code = this.state.authCodes.get(form.code);
    if (!code || code.usedAt !== undefined)
      throw GhlHttpError.badRequest('Invalid grant: authorization code is invalid');
    if (code.expiresAt <= now) throw GhlHttpError.badRequest('Invalid grant: authorization code has expired');
    if (form.redirect_uri && code.redirectUri && form.redirect_uri !== code.redirectUri) {
      throw GhlHttpError.badRequest('Invalid request: redirect_uri is invalid');
    }
    code.usedAt = now;
    const grant = code.grant;
    const subject: TokenSubject =
      grant.userType === 'Location'
        ? {
            userType: 'Location',
            locationId: grant.locationId,
            companyId: this.state.locations.get(grant.locationId)!.companyId,
            userId: grant.userId!,
            scopes: grant.scopes!,
          }
        : { userType: 'Company', companyId: grant.companyId, userId: grant.userId!, scopes: grant.scopes! };
    const { access, refresh } = this.issuePair(subject, now);
    return this.tokenBody(
      access,
      refresh,
      subject.userType === 'Company' ? this.companyExtras(subject.companyId) : { isBulkInstallation: false },
    );
  }

  private refresh(form: Record<string, string>, now: number): Record<string, unknown> {
    if (!form.refresh_token) throw GhlHttpError.badRequest('Missing parameter: refresh_token');
    const old = this.state.tokens.get(form.refresh_token);
    if (!old || old.kind !== 'refresh' || old.revoked || old.usedAt !== undefined || old.expiresAt <= now) {
      throw GhlHttpError.badRequest('Invalid grant: refresh token is invalid');
    }
    if (old.locationId && this.state.locations.get(old.locationId)?.active === false) {
      // Paused SaaS sub-account: temporary, and the same refresh token works again later (§2.2).
      throw GhlHttpError.badRequest('Location is not active');
    }
    old.usedAt = now;
    const subject: TokenSubject = {
      userType: old.userType,
      ...(old.locationId ? { locationId: old.locationId } : {}),
      companyId: old.companyId,
      userId: old.userId,
      scopes: old.scopes,
    };
    const { access, refresh } = this.issuePair(subject, now);
    return this.tokenBody(
      access,
      refresh,
      subject.userType === 'Company' ? this.companyExtras(subject.companyId) : { isBulkInstallation: false },
    );
  }

  // ---- agency endpoints -----------------------------------------------------------------------------

  /** POST /oauth/locationToken (§2.3), with `refresh_token` (ISSUE #285). */
  locationToken(
    company: TokenRecord,
    companyId: string,
    locationId: string,
    now = Date.now(),
  ): Record<string, unknown> {
    if (company.companyId !== companyId)
      throw GhlHttpError.forbidden('The token does not have access to this company');
    const location = this.state.locations.get(locationId);
    if (!location || location.companyId !== companyId) throw GhlHttpError.badRequest('Location not found');
    if (!this.state.locationInstalls.has(locationId)) {
      // Assumed wording: the docs do not show this error.
      throw GhlHttpError.badRequest('App is not installed on this location');
    }
    const { access, refresh } = this.issuePair(
      { userType: 'Location', locationId, companyId, userId: company.userId, scopes: company.scopes },
      now,
    );
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: this.config.accessTokenTtlSeconds,
      scope: access.scopes.join(' '),
      locationId,
      userId: access.userId,
      appId: this.config.appId,
      versionId: this.config.versionId,
      refresh_token: refresh.token,
    };
  }

  /** GET /oauth/installedLocations (§2.4). */
  installedLocations(company: TokenRecord, query: Record<string, string>): Record<string, unknown> {
    if (company.companyId !== query.companyId)
      throw GhlHttpError.forbidden('The token does not have access to this company');
    const companyRecord = this.state.companies.get(query.companyId);
    const sameApp = query.appId === this.config.appId;
    let rows = (companyRecord?.locationIds ?? []).map((id) => {
      const location = this.state.locations.get(id)!;
      const install = sameApp ? this.state.locationInstalls.get(id) : undefined;
      return {
        _id: location.id,
        name: location.name,
        address: location.address,
        isInstalled: install !== undefined,
        ...(install ? { versionId: this.config.versionId, installedAt: install.installedAt } : {}),
      };
    });
    if (query.isInstalled !== undefined)
      rows = rows.filter((r) => String(r.isInstalled) === query.isInstalled);
    if (query.locationId) rows = rows.filter((r) => r._id === query.locationId);
    if (query.query) rows = rows.filter((r) => r.name.toLowerCase().includes(query.query.toLowerCase()));
    const skip = Number(query.skip ?? '0') || 0;
    const limit = Number(query.limit ?? '20') || 20;
    const companyInstall = sameApp ? this.state.companyInstalls.get(query.companyId) : undefined;
    return {
      locations: rows.slice(skip, skip + limit),
      count: rows.length,
      installToFutureLocations: companyInstall?.installToFutureLocations ?? false,
    };
  }

  // ---- uninstall and admin token control ------------------------------------------------------------

  /** Removes the installation(s) and revokes their tokens; returns what was removed. */
  uninstall(target: { locationId?: string; companyId?: string }): InstallationDto[] {
    const removed: InstallationDto[] = [];
    if (target.locationId) {
      const install = this.state.locationInstalls.get(target.locationId);
      if (install) removed.push(install);
      this.state.locationInstalls.delete(target.locationId);
      this.revoke({ locationId: target.locationId });
    } else if (target.companyId) {
      const install = this.state.companyInstalls.get(target.companyId);
      if (install) removed.push(install);
      this.state.companyInstalls.delete(target.companyId);
      // Uninstalling from the agency removes it from every sub-account too (marketplace.json).
      for (const [locationId, li] of [...this.state.locationInstalls]) {
        if (li.companyId === target.companyId) {
          removed.push(li);
          this.state.locationInstalls.delete(locationId);
        }
      }
      this.revoke({ companyId: target.companyId });
    }
    return removed;
  }

  private select(selector: TokenSelector): TokenRecord[] {
    const kind = selector.kind ?? 'all';
    return [...this.state.tokens.values()].filter((t) => {
      if (kind !== 'all' && t.kind !== kind) return false;
      if (selector.accessToken || selector.refreshToken) {
        return t.token === selector.accessToken || t.token === selector.refreshToken;
      }
      if (selector.locationId) return t.locationId === selector.locationId;
      if (selector.companyId) return t.companyId === selector.companyId;
      return false;
    });
  }

  revoke(selector: TokenSelector): number {
    const tokens = this.select(selector).filter((t) => !t.revoked);
    for (const t of tokens) t.revoked = true;
    return tokens.length;
  }

  /** Makes access tokens expire now, so the product sees the 401 that starts a refresh. */
  expire(selector: TokenSelector, now = Date.now()): number {
    const tokens = this.select({ ...selector, kind: selector.kind ?? 'access' }).filter(
      (t) => t.expiresAt > now,
    );
    for (const t of tokens) t.expiresAt = now;
    return tokens.length;
  }
}
