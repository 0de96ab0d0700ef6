import { Inject, Injectable } from '@nestjs/common';
import type { SyncConfig } from '@app/config';
import { EventBus } from '@app/messaging';
import type { TokenKind, TokenResourceType } from '@app/persistence';
import type { Logger } from 'pino';
import { Sql } from '../db/sql';
import { GhlApiClient, type GhlAuth } from '../ghl/ghl-api.client';
import { GhlPermanentError, GhlTokenInvalidError } from '../ghl/ghl.errors';
import { ghlMetrics } from '../ghl/ghl.metrics';
import { GhlRateLimiter } from '../rate-limit/ghl-rate-limiter.service';
import { SYNC_CONFIG, SYNC_LOGGER } from '../sync.tokens';
import {
  LocationBlockedError,
  LocationInactiveError,
  NotInstalledError,
  ReauthRequiredError,
} from './token.errors';
import {
  InstallationRepository,
  TokenRepository,
  type InstallationState,
  type StoredToken,
} from './token.repository';

/** What a GHL call for a location is made with. */
export interface LocationCredential {
  locationId: string;
  accessToken: string;
  revision: number;
  expiresAt: Date;
  kind: TokenKind;
}

/** Why a token is refreshed (the `trigger` label of `ghl_token_refreshes_total`). */
export type RefreshTrigger = 'expiring' | 'unauthorized' | 'sweep';

type RefreshOutcome =
  | { kind: 'busy' }
  | { kind: 'refreshed'; token: StoredToken }
  | { kind: 'newer'; token: StoredToken }
  | { kind: 'missing' }
  | { kind: 'inactive' }
  | { kind: 'reauth'; reason: string; changed: boolean };

/** How long a location's installation status is trusted before it is read again. */
const STATUS_TTL_MS = 5_000;
/** A token this process refreshed this recently is not refreshed again on a 401 (no refresh loop). */
const FRESH_TOKEN_MS = 30_000;
/** Private Integration tokens do not expire by time (GHL-CONTRACT §9). */
const PIT_EXPIRES_AT = new Date('2100-01-01T00:00:00.000Z');

export const resourceKey = (type: TokenResourceType, id: string): string => `${type}:${id}`;

/** Joins the task in flight for `key`, or starts it; the entry is dropped once it settles. */
function singleFlight<T>(inflight: Map<string, Promise<T>>, key: string, task: () => Promise<T>): Promise<T> {
  const running = inflight.get(key);
  if (running) return running;
  const started = task().finally(() => {
    if (inflight.get(key) === started) inflight.delete(key);
  });
  inflight.set(key, started);
  return started;
}

/**
 * Per-location GHL tokens (and per-company ones for agency installs): read from the encrypted store,
 * refreshed ahead of expiry and on a 401, single-flight across every replica:
 *
 * 1. one refresh per resource at a time in this process (callers join the one in flight);
 * 2. across processes, the token row is locked (`FOR UPDATE`) for the refresh, and re-read: if its
 *    `revision` moved, someone else refreshed and their tokens are used;
 * 3. otherwise GHL is called and both new tokens are written with `revision + 1` in the same
 *    transaction, before anyone uses the new access token.
 *
 * `Location is not active` keeps the token. An invalid grant marks the installation `needs_reauth`
 * (reason stored for the api, `ghl.reauth_required` published, one error log) and every later call for
 * the location fails fast without touching GHL, until a new install writes new tokens.
 */
@Injectable()
export class GhlTokenService {
  private readonly cache = new Map<string, LocationCredential>();
  private readonly statuses = new Map<string, { state: InstallationState | null; at: number }>();
  private readonly inflight = new Map<string, Promise<StoredToken | null>>();
  /** Loads in flight, so concurrent events of one location read the database once, not once each. */
  private readonly credentialLoads = new Map<string, Promise<LocationCredential>>();
  private readonly statusLoads = new Map<string, Promise<InstallationState | null>>();
  /** Revisions this process wrote, by resource key, with when. */
  private readonly refreshedHere = new Map<string, { revision: number; at: number }>();
  private readonly logger: Logger;
  private readonly client: { id: string; secret: string };

  constructor(
    private readonly sql: Sql,
    private readonly tokens: TokenRepository,
    private readonly installations: InstallationRepository,
    private readonly ghl: GhlApiClient,
    private readonly limiter: GhlRateLimiter,
    private readonly bus: EventBus,
    @Inject(SYNC_CONFIG) private readonly config: SyncConfig,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'ghl-tokens' });
    this.client = { id: config.GHL_CLIENT_ID, secret: config.GHL_CLIENT_SECRET };
  }

  /** The token to call GHL with for a location; refreshed first when it is close to expiry. */
  async credentialFor(locationId: string): Promise<LocationCredential> {
    await this.assertUsable(locationId);
    const cached = this.cache.get(locationId);
    if (cached && !this.expiring(cached.expiresAt)) return cached;
    return singleFlight(this.credentialLoads, locationId, () => this.loadCredential(locationId));
  }

  private async loadCredential(locationId: string): Promise<LocationCredential> {
    let stored = await this.tokens.read('location', locationId);
    if (!stored) stored = await this.mintFromCompany(locationId);
    if (stored.kind === 'oauth' && this.expiring(stored.expiresAt)) {
      stored = await this.refresh('location', locationId, stored.revision, 'expiring');
    }
    return this.remember(stored);
  }

  /**
   * GHL answered 401 to `used`: returns a working token (someone else's newer one, or a refreshed one),
   * or throws (`ReauthRequiredError` when GHL refuses the refresh token or a Private Integration token).
   */
  async afterUnauthorized(used: LocationCredential): Promise<LocationCredential> {
    const { locationId } = used;
    this.cache.delete(locationId);
    if (used.kind === 'private_integration') {
      const current = await this.tokens.read('location', locationId);
      if (current && current.revision !== used.revision) return this.remember(current);
      const reason =
        'GHL rejected the Private Integration token (401); rotate it in GHL and update the configuration';
      const changed = await this.installations.markNeedsReauth(locationId, reason);
      await this.reauthRequired(locationId, reason, changed);
      throw new ReauthRequiredError(locationId, reason);
    }
    const mine = this.refreshedHere.get(resourceKey('location', locationId));
    if (mine && mine.revision === used.revision && Date.now() - mine.at < FRESH_TOKEN_MS) {
      // GHL refuses a token it issued moments ago: refreshing again would only spend refresh tokens.
      throw new GhlTokenInvalidError('oauth.token', 'a freshly refreshed token was refused (401)');
    }
    return this.remember(await this.refresh('location', locationId, used.revision, 'unauthorized'));
  }

  /** Throws when the location cannot be synced now (re-authorisation needed, uninstalled). */
  async assertUsable(locationId: string): Promise<void> {
    const state = await this.installationState(locationId);
    if (state?.status === 'needs_reauth') {
      throw new ReauthRequiredError(locationId, state.reason ?? 'the GHL token was refused');
    }
    if (state?.status === 'uninstalled') throw new NotInstalledError(locationId);
  }

  /** After an install or a re-install: forget what this process believed about the location. */
  forget(locationId: string): void {
    this.cache.delete(locationId);
    this.statuses.delete(locationId);
    // A read started before the change must not bring the old state back.
    this.statusLoads.delete(locationId);
    this.credentialLoads.delete(locationId);
  }

  /** Registers Private Integration tokens from the configuration (self-hosted contact sync). */
  async registerPrivateIntegrationTokens(
    pairs: readonly { locationId: string; token: string }[],
  ): Promise<void> {
    for (const { locationId, token } of pairs) {
      const current = await this.tokens.read('location', locationId);
      if (current?.kind === 'private_integration' && current.accessToken === token) continue;
      if (current?.kind === 'oauth') {
        this.logger.warn(
          { locationId },
          'replacing the marketplace token of a location with a Private Integration token',
        );
      }
      await this.sql.transaction(async (tx) => {
        await this.tokens.write(
          'location',
          locationId,
          {
            accessToken: token,
            refreshToken: null,
            expiresAt: PIT_EXPIRES_AT,
            scopes: '',
            userType: 'Location',
            kind: 'private_integration',
          },
          tx,
        );
        await this.installations.markInstalled(locationId, { companyId: null, installType: 'Location' }, tx);
      });
      this.forget(locationId);
      this.logger.info({ locationId }, 'Private Integration token registered');
    }
  }

  // ---- refresh ---------------------------------------------------------------------------------------

  /** Single-flight refresh of one resource's tokens; `seenRevision` is the revision the caller found stale. */
  async refresh(
    type: TokenResourceType,
    id: string,
    seenRevision: number,
    why: RefreshTrigger,
  ): Promise<StoredToken> {
    const key = resourceKey(type, id);
    const running = this.inflight.get(key);
    if (running) {
      const token = await running;
      if (token && token.revision !== seenRevision) return token;
    }
    const token = await this.track(key, this.refreshOnce(type, id, seenRevision, why, false));
    // Only a refresh that skips locked rows can come back without a token.
    if (!token) throw new Error(`refresh of ${key} returned no token`);
    return token;
  }

  /**
   * The sweep's refresh of a token nobody is using right now: skipped when this process or another
   * one is refreshing it at this moment (that refresh is the one that counts). Reports, never throws.
   */
  async refreshIdle(
    type: TokenResourceType,
    id: string,
    seenRevision: number,
  ): Promise<'refreshed' | 'reused' | 'busy' | 'failed'> {
    const key = resourceKey(type, id);
    if (this.inflight.has(key)) {
      ghlMetrics.refreshes.inc({ outcome: 'busy', trigger: 'sweep' });
      return 'busy';
    }
    try {
      const token = await this.track(key, this.refreshOnce(type, id, seenRevision, 'sweep', true));
      if (!token) return 'busy';
      return this.refreshedHere.get(key)?.revision === token.revision ? 'refreshed' : 'reused';
    } catch (err) {
      if (!(err instanceof LocationBlockedError)) {
        this.logger.warn({ err, resource: type, resourceId: id }, 'token sweep could not refresh a token');
      }
      return 'failed';
    }
  }

  /** Registers a refresh as the one in flight for `key` until it settles. */
  private track(key: string, attempt: Promise<StoredToken | null>): Promise<StoredToken | null> {
    const tracked = attempt.finally(() => {
      if (this.inflight.get(key) === tracked) this.inflight.delete(key);
    });
    this.inflight.set(key, tracked);
    return tracked;
  }

  private async refreshOnce(
    type: TokenResourceType,
    id: string,
    seenRevision: number,
    why: RefreshTrigger,
    skipLocked: boolean,
  ): Promise<StoredToken | null> {
    const outcome = await this.refreshUnderLock(type, id, seenRevision, skipLocked);
    return this.settleRefresh(type, id, why, outcome);
  }

  private refreshUnderLock(
    type: TokenResourceType,
    id: string,
    seenRevision: number,
    skipLocked: boolean,
  ): Promise<RefreshOutcome> {
    return this.sql.transaction(async (tx): Promise<RefreshOutcome> => {
      const row = await this.tokens.lock(tx, type, id, { skipLocked });
      // Skipping locked rows, an absent row may be one another process is refreshing right now.
      if (!row) return { kind: skipLocked ? 'busy' : 'missing' };
      // Re-read under the lock: another replica refreshed (or a re-install wrote) while we waited.
      if (row.revision !== seenRevision) return { kind: 'newer', token: row };
      if (type === 'location') {
        const installation = await this.installations.read(id, tx);
        if (installation?.status === 'needs_reauth') {
          return {
            kind: 'reauth',
            reason: installation.reason ?? 'the GHL token was refused',
            changed: false,
          };
        }
      }
      if (row.kind === 'private_integration') {
        const reason = 'GHL rejected the Private Integration token; rotate it and update the configuration';
        const changed = type === 'location' && (await this.installations.markNeedsReauth(id, reason, tx));
        return { kind: 'reauth', reason, changed };
      }
      if (row.refreshToken) {
        try {
          const answer = await this.ghl.refreshToken(this.client, row.refreshToken, row.userType);
          const tokens = {
            accessToken: answer.access_token,
            refreshToken: answer.refresh_token,
            expiresAt: new Date(Date.now() + answer.expires_in * 1000),
            scopes: answer.scope ?? row.scopes,
            userType: row.userType,
            kind: 'oauth' as const,
          };
          // Both tokens in one write, committed before anyone uses the new access token.
          const revision = await this.tokens.write(type, id, tokens, tx);
          return { kind: 'refreshed', token: { ...row, ...tokens, revision } };
        } catch (err) {
          if (!(err instanceof GhlPermanentError && err.status === 400)) throw err;
          const message = err.ghlMessage;
          if (/location is not active/i.test(message)) return { kind: 'inactive' };
          if (!/invalid.?grant|refresh token is invalid/i.test(message)) throw err;
          if (type === 'company')
            return { kind: 'reauth', reason: `agency token refused: ${message}`, changed: false };
          // The SDK's fallback: a location under an agency install gets a new token from the agency's.
          const minted = await this.mintWith(tx, id, row.revision).catch((mintError: unknown) => {
            this.logger.warn(
              { err: mintError, locationId: id },
              'no new location token from the agency token',
            );
            return null;
          });
          if (minted) return { kind: 'refreshed', token: minted };
          const reason = `refresh token refused by GHL (${message}); re-install the app`;
          return {
            kind: 'reauth',
            reason,
            changed: await this.installations.markNeedsReauth(id, reason, tx),
          };
        }
      }
      // A minted location token without a refresh token: mint again from the agency token.
      const minted = type === 'location' ? await this.mintWith(tx, id, row.revision) : null;
      if (minted) return { kind: 'refreshed', token: minted };
      const reason = 'no refresh token and no agency token to mint one';
      return {
        kind: 'reauth',
        reason,
        changed: type === 'location' && (await this.installations.markNeedsReauth(id, reason, tx)),
      };
    });
  }

  /** Metrics, logs and events of a refresh's outcome; the new token, or null when it was skipped. */
  private async settleRefresh(
    type: TokenResourceType,
    id: string,
    why: RefreshTrigger,
    outcome: RefreshOutcome,
  ): Promise<StoredToken | null> {
    switch (outcome.kind) {
      case 'busy':
        ghlMetrics.refreshes.inc({ outcome: 'busy', trigger: why });
        return null;
      case 'refreshed':
        ghlMetrics.refreshes.inc({ outcome: 'refreshed', trigger: why });
        this.refreshedHere.set(resourceKey(type, id), { revision: outcome.token.revision, at: Date.now() });
        this.logger.info(
          { resource: type, resourceId: id, why, revision: outcome.token.revision },
          'GHL token refreshed',
        );
        if (type === 'location') await this.announceRefresh(id, outcome.token.expiresAt);
        return outcome.token;
      case 'newer':
        ghlMetrics.refreshes.inc({ outcome: 'reused', trigger: why });
        return outcome.token;
      case 'missing':
        ghlMetrics.refreshes.inc({ outcome: 'missing', trigger: why });
        throw new NotInstalledError(id);
      case 'inactive':
        ghlMetrics.refreshes.inc({ outcome: 'location_inactive', trigger: why });
        this.logger.warn(
          { resource: type, resourceId: id },
          'GHL says the location is not active; token kept',
        );
        throw new LocationInactiveError(id);
      case 'reauth':
        ghlMetrics.refreshes.inc({ outcome: 'invalid_grant', trigger: why });
        if (type === 'location') {
          await this.reauthRequired(id, outcome.reason, outcome.changed);
          throw new ReauthRequiredError(id, outcome.reason);
        }
        this.logger.error({ companyId: id, reason: outcome.reason }, 'GHL refused the agency token');
        throw new ReauthRequiredError(id, outcome.reason);
    }
  }

  // ---- agency installs ----------------------------------------------------------------------------

  /** A location token minted from its agency's token and stored (first writer wins), or NotInstalled. */
  private async mintFromCompany(locationId: string): Promise<StoredToken> {
    const installation = await this.installationState(locationId);
    if (!installation?.companyId) throw new NotInstalledError(locationId);
    const tokens = await this.locationTokenFromCompany(installation.companyId, locationId);
    if (!tokens) throw new NotInstalledError(locationId);
    await this.tokens.insertIfAbsent('location', locationId, tokens);
    const stored = await this.tokens.read('location', locationId);
    if (!stored) throw new NotInstalledError(locationId);
    this.logger.info(
      { locationId, companyId: installation.companyId },
      'location token minted from the agency token',
    );
    return stored;
  }

  /** Inside a refresh's transaction: replaces the location's tokens with freshly minted ones. */
  private async mintWith(
    tx: Parameters<Parameters<Sql['transaction']>[0]>[0],
    locationId: string,
    seen: number,
  ) {
    const installation = await this.installations.read(locationId, tx);
    if (!installation?.companyId) return null;
    const tokens = await this.locationTokenFromCompany(installation.companyId, locationId);
    if (!tokens) return null;
    const revision = await this.tokens.write('location', locationId, tokens, tx);
    return {
      resourceType: 'location' as const,
      resourceId: locationId,
      ...tokens,
      revision: Math.max(revision, seen + 1),
    };
  }

  /** POST /oauth/locationToken with the agency token (refreshed on expiry or a 401); null without one. */
  async locationTokenFromCompany(companyId: string, locationId: string) {
    let company = await this.tokens.read('company', companyId);
    if (!company) return null;
    if (this.expiring(company.expiresAt))
      company = await this.refresh('company', companyId, company.revision, 'expiring');
    const key = resourceKey('company', companyId);
    const mint = async (token: StoredToken) => {
      const lease = await this.limiter.acquire(key);
      try {
        return await this.ghl.locationToken(
          { accessToken: token.accessToken, resourceKey: key },
          companyId,
          locationId,
        );
      } finally {
        this.limiter.settle(lease, Date.now());
      }
    };
    let answer;
    try {
      answer = await mint(company);
    } catch (err) {
      if (!(err instanceof GhlTokenInvalidError)) throw err;
      answer = await mint(await this.refresh('company', companyId, company.revision, 'unauthorized'));
    }
    return {
      accessToken: answer.access_token,
      // Older answers carry no refresh token: the next expiry mints again (see refreshUnderLock).
      refreshToken: answer.refresh_token ?? '',
      expiresAt: new Date(Date.now() + answer.expires_in * 1000),
      scopes: answer.scope ?? company.scopes,
      userType: 'Location' as const,
      kind: 'oauth' as const,
    };
  }

  /** A credential for calls made as the agency (installed locations, minting). */
  async companyAuth(companyId: string): Promise<GhlAuth> {
    let company = await this.tokens.read('company', companyId);
    if (!company) throw new NotInstalledError(companyId);
    if (this.expiring(company.expiresAt))
      company = await this.refresh('company', companyId, company.revision, 'expiring');
    return { accessToken: company.accessToken, resourceKey: resourceKey('company', companyId) };
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private async installationState(locationId: string): Promise<InstallationState | null> {
    const cached = this.statuses.get(locationId);
    if (cached && Date.now() - cached.at < STATUS_TTL_MS) return cached.state;
    const load: Promise<InstallationState | null> = singleFlight(this.statusLoads, locationId, async () => {
      const state = await this.installations.read(locationId);
      // Only the load still registered may store (forget/reauthRequired drop a stale one).
      if (this.statusLoads.get(locationId) === load) this.statuses.set(locationId, { state, at: Date.now() });
      return state;
    });
    return load;
  }

  private async reauthRequired(locationId: string, reason: string, changed: boolean): Promise<void> {
    this.cache.delete(locationId);
    this.statusLoads.delete(locationId);
    const known = this.statuses.get(locationId)?.state;
    this.statuses.set(locationId, {
      state: {
        status: 'needs_reauth',
        reason,
        companyId: known?.companyId ?? null,
        installType: known?.installType ?? 'Location',
      },
      at: Date.now(),
    });
    if (!changed) return;
    // Once per transition, not once per message: the installation row changed in this call only.
    this.logger.error(
      { locationId, reason },
      'GHL re-authorisation required; syncing for this location is paused',
    );
    try {
      await this.bus.publish('ghl.reauth_required', locationId, { reason: reason.slice(0, 500) });
    } catch (err) {
      this.logger.warn(
        { err, locationId },
        'could not publish ghl.reauth_required (the installation row says it)',
      );
    }
  }

  private async announceRefresh(locationId: string, expiresAt: Date): Promise<void> {
    try {
      await this.bus.publish('ghl.token_refreshed', locationId, {
        resource: 'location',
        expiresAt: expiresAt.toISOString(),
      });
    } catch (err) {
      this.logger.warn({ err, locationId }, 'could not publish ghl.token_refreshed');
    }
  }

  private remember(stored: StoredToken): LocationCredential {
    const credential: LocationCredential = {
      locationId: stored.resourceId,
      accessToken: stored.accessToken,
      revision: stored.revision,
      expiresAt: stored.expiresAt,
      kind: stored.kind,
    };
    this.cache.set(stored.resourceId, credential);
    return credential;
  }

  private expiring(expiresAt: Date): boolean {
    return expiresAt.getTime() - Date.now() < this.config.GHL_TOKEN_REFRESH_MARGIN;
  }
}
