import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { GLOBAL_SCOPE, type CommandResult } from '@app/contracts';
import type { SyncConfig } from '@app/config';
import { CommandBus, CommandError, EventBus, type CommandSubscription } from '@app/messaging';
import type { Logger } from 'pino';
import { Sql } from '../db/sql';
import { GhlApiClient } from '../ghl/ghl-api.client';
import { GhlError, type AnyGhlError } from '../ghl/ghl.errors';
import type { TokenResponse } from '../ghl/ghl-api.schemas';
import { GhlTokenService } from '../tokens/ghl-token.service';
import { InstallationRepository, TokenRepository } from '../tokens/token.repository';
import { SYNC_CONFIG, SYNC_LOGGER } from '../sync.tokens';

type ExchangeResult = CommandResult<'oauth.exchange_code'>;

const INSTALLED_PAGE_SIZE = 100;
// 50 pages of 100: far beyond any agency we expect; a bound so a wrong answer cannot loop forever.
const MAX_INSTALLED_PAGES = 50;

/**
 * `oauth.exchange_code` (sent by the api's OAuth callback): exchanges the code at `POST /oauth/token`,
 * stores the tokens encrypted, and marks the installation(s) active, which also ends a
 * `needs_reauth` state. An agency (Company) token is stored too, and a location token is minted for
 * every location that has the app (`/oauth/installedLocations`, `/oauth/locationToken`); one that
 * cannot be minted now is minted on first use.
 */
@Injectable()
export class ExchangeCodeHandler implements OnApplicationBootstrap {
  private subscription: CommandSubscription | undefined;
  private readonly logger: Logger;
  private readonly appId: string;

  constructor(
    private readonly commands: CommandBus,
    private readonly bus: EventBus,
    private readonly ghl: GhlApiClient,
    private readonly sql: Sql,
    private readonly tokens: TokenRepository,
    private readonly installations: InstallationRepository,
    private readonly tokenService: GhlTokenService,
    @Inject(SYNC_CONFIG) private readonly config: SyncConfig,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'oauth-exchange' });
    this.appId = config.GHL_APP_ID ?? config.GHL_CLIENT_ID.split('-')[0];
  }

  async onApplicationBootstrap(): Promise<void> {
    // One queue group: each code is exchanged by exactly one replica (codes are single-use).
    this.subscription = this.commands.handle(
      'oauth.exchange_code',
      GLOBAL_SCOPE,
      (command) => this.exchange(command.payload.code),
      {
        queue: 'sync-oauth',
      },
    );
    await this.subscription.ready;
  }

  async exchange(code: string): Promise<ExchangeResult> {
    let answer: TokenResponse;
    try {
      answer = await this.ghl.exchangeCode(
        { id: this.config.GHL_CLIENT_ID, secret: this.config.GHL_CLIENT_SECRET },
        code,
      );
    } catch (err) {
      throw this.commandError(err);
    }
    const tokens = {
      accessToken: answer.access_token,
      refreshToken: answer.refresh_token,
      expiresAt: new Date(Date.now() + answer.expires_in * 1000),
      scopes: answer.scope ?? '',
      userType: answer.userType,
      kind: 'oauth' as const,
    };
    if (answer.userType === 'Location') {
      const locationId = answer.locationId;
      if (!locationId)
        throw new CommandError('upstream_error', 'GHL returned a Location token without a locationId', {
          retryable: false,
        });
      await this.sql.transaction(async (tx) => {
        await this.tokens.write('location', locationId, tokens, tx);
        await this.installations.markInstalled(
          locationId,
          { companyId: answer.companyId ?? null, installType: 'Location' },
          tx,
        );
      });
      this.tokenService.forget(locationId);
      this.logger.info({ locationId }, 'GHL app installed on a location');
      await this.announce(locationId, answer.companyId ?? null, 'Location');
      return { userType: 'Location', companyId: answer.companyId ?? null, locationIds: [locationId] };
    }

    const companyId = answer.companyId;
    if (!companyId)
      throw new CommandError('upstream_error', 'GHL returned a Company token without a companyId', {
        retryable: false,
      });
    await this.tokens.write('company', companyId, tokens);
    const locationIds = await this.installedLocations(companyId);
    for (const locationId of locationIds) {
      await this.installations.markInstalled(locationId, { companyId, installType: 'Company' });
      this.tokenService.forget(locationId);
      try {
        const minted = await this.tokenService.locationTokenFromCompany(companyId, locationId);
        if (minted) await this.tokens.write('location', locationId, minted);
      } catch (err) {
        // The installation row names the company: the token is minted on the location's first use.
        this.logger.warn(
          { err, companyId, locationId },
          'could not mint a location token now; will on first use',
        );
      }
      await this.announce(locationId, companyId, 'Company');
    }
    this.logger.info({ companyId, locations: locationIds.length }, 'GHL app installed on an agency');
    return { userType: 'Company', companyId, locationIds };
  }

  private async installedLocations(companyId: string): Promise<string[]> {
    const auth = await this.tokenService.companyAuth(companyId);
    const ids: string[] = [];
    try {
      for (let page = 0; page < MAX_INSTALLED_PAGES; page++) {
        const result = await this.ghl.installedLocations(auth, {
          companyId,
          appId: this.appId,
          skip: page * INSTALLED_PAGE_SIZE,
          limit: INSTALLED_PAGE_SIZE,
        });
        ids.push(...result.locationIds);
        if (result.locationIds.length < INSTALLED_PAGE_SIZE) break;
      }
    } catch (err) {
      throw this.commandError(err);
    }
    return [...new Set(ids)];
  }

  private async announce(locationId: string, companyId: string | null, installType: 'Location' | 'Company') {
    try {
      await this.bus.publish('installation.changed', locationId, {
        change: 'installed',
        companyId,
        installType,
      });
    } catch (err) {
      this.logger.warn({ err, locationId }, 'could not publish installation.changed');
    }
  }

  /** GHL's refusal as the command's coded error (the api maps it to an HTTP answer). */
  private commandError(err: unknown): CommandError {
    if (!(err instanceof GhlError)) {
      this.logger.error({ err }, 'code exchange failed');
      return new CommandError('internal', 'the code exchange failed; see the sync logs');
    }
    const ghl = err as AnyGhlError;
    switch (ghl.kind) {
      case 'permanent':
        if (ghl.status === 400) {
          return new CommandError(
            'invalid_request',
            `GHL refused the authorization code: ${ghl.ghlMessage}`,
            {
              retryable: false,
            },
          );
        }
        this.logger.error({ status: ghl.status, body: ghl.body }, 'GHL refused the code exchange');
        return new CommandError('upstream_error', `GHL refused the exchange (${ghl.status})`, {
          retryable: false,
        });
      case 'rate_limited':
      case 'transient':
        return new CommandError('upstream_error', `GHL did not complete the exchange: ${ghl.message}`, {
          retryable: true,
        });
      case 'token_invalid':
        return new CommandError('upstream_error', 'GHL refused the agency token while listing locations', {
          retryable: false,
        });
    }
  }
}
