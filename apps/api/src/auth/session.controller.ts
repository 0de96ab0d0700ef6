import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import type { ApiConfig } from '@app/config';
import type { Logger } from 'pino';
import { API_CONFIG, API_LOGGER } from '../api.tokens';
import { ApiError } from '../http/api-error';
import { parseInput } from '../http/zod-input';
import { LocationReadRepository } from '../locations/location-read.repository';
import { Public } from './auth.decorators';
import { devSessionBodySchema, sessionExchangeBodySchema } from './auth.schemas';
import { DashboardSessionService, type DashboardSessionOrigin } from './dashboard-session.service';
import { decryptGhlUserContext, UserContextError } from './ghl-user-context';

/**
 * How the embedded page gets a credential: it asks GHL for the user context (postMessage), posts the
 * encrypted payload here, and gets a short-lived session for the location GHL says the user is in.
 */
@Controller('api')
export class SessionController {
  private readonly logger: Logger;

  constructor(
    private readonly sessions: DashboardSessionService,
    private readonly reads: LocationReadRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'dashboard-session' });
  }

  @Post('session')
  @Public()
  @HttpCode(201)
  async exchange(@Body() body: unknown) {
    const { payload } = parseInput(sessionExchangeBodySchema, body, 'body');
    let user;
    try {
      user = decryptGhlUserContext(payload, this.config.GHL_APP_SHARED_SECRET);
    } catch (err) {
      if (!(err instanceof UserContextError)) throw err;
      this.logger.warn({ reason: err.message }, 'refused a GHL user context');
      throw new ApiError(
        401,
        'invalid_user_context',
        `GoHighLevel's user context was refused: ${err.message}`,
      );
    }
    if (!user.activeLocation) {
      throw ApiError.forbidden(
        'no_active_location',
        'open this page from inside a sub-account (location): the agency view has no WhatsApp number',
      );
    }
    return this.mint(user.activeLocation, user.userId, 'ghl', user.userName ?? null, user.role ?? null);
  }

  /**
   * Development only (refused when NODE_ENV=production, where the route answers 404 as if it did not
   * exist): a session for any installed location without GHL, for `npm start` and the browser tests.
   * It adds no exposure beyond development's public secrets, with which anyone can forge a user context.
   */
  @Post('dev/session')
  @Public()
  @HttpCode(201)
  async devSession(@Body() body: unknown) {
    if (this.config.NODE_ENV === 'production') {
      throw ApiError.notFound('not_found', 'Cannot POST /api/dev/session');
    }
    const { locationId } = parseInput(devSessionBodySchema, body, 'body');
    return this.mint(locationId, null, 'dev', 'developer', null);
  }

  private async mint(
    locationId: string,
    userId: string | null,
    via: DashboardSessionOrigin,
    userName: string | null,
    role: string | null,
  ) {
    const status = await this.reads.installationStatus(locationId);
    if (status === null || status === 'uninstalled') {
      throw ApiError.forbidden(
        'location_not_installed',
        'the app is not installed for this sub-account; install it from the GoHighLevel marketplace',
      );
    }
    const session = this.sessions.mint(locationId, userId, via);
    return {
      token: session.token,
      expiresAt: session.expiresAt.toISOString(),
      locationId,
      user: { userId, userName, role },
    };
  }
}
