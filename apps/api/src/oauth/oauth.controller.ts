import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { ApiConfig } from '@app/config';
import { CommandBus, CommandError } from '@app/messaging';
import { currentCorrelationId } from '@app/observability';
import type { Response } from 'express';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { API_CONFIG, API_LOGGER } from '../api.tokens';
import { DashboardSessionService } from '../auth/dashboard-session.service';
import { renderPage, type PageLink } from './oauth-pages';

// An exchange calls GHL (token, and for agencies the installed locations and one token per location).
const EXCHANGE_TIMEOUT_MS = 30_000;
// Links to the dashboard on the success page; an agency with more locations uses GHL's own menu.
const MAX_DASHBOARD_LINKS = 20;

export const callbackQuerySchema = z.object({
  code: z.string().min(1).max(2000).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
  state: z.string().max(2000).optional(),
});

interface Failure {
  status: number;
  title: string;
  message: string;
  retry: boolean;
}

/** Why an exchange failed, said to the person who is installing. Exhaustive over the contract's codes. */
function exchangeFailure(error: CommandError): Failure {
  switch (error.code) {
    case 'invalid_request':
      return {
        status: 400,
        title: 'This install link has expired',
        message:
          'GoHighLevel did not accept the authorisation code: it was already used or it expired. Start the install again.',
        retry: true,
      };
    case 'no_responder':
    case 'capacity_exhausted':
      return {
        status: 503,
        title: 'The installer is not available',
        message:
          'The part of the service that talks to GoHighLevel is not running right now. Try again in a minute.',
        retry: true,
      };
    case 'timeout':
      return {
        status: 504,
        title: 'GoHighLevel took too long',
        message:
          'The install may still complete. Wait a minute, then open the app from GoHighLevel or try again.',
        retry: true,
      };
    case 'upstream_error':
      return {
        status: 502,
        title: 'GoHighLevel did not complete the install',
        message: `GoHighLevel answered with an error (${error.message}). Try again; if it keeps failing, contact support.`,
        retry: true,
      };
    case 'unknown_location':
    case 'not_owner':
    case 'session_not_running':
    case 'not_connected':
    case 'invalid_phone':
    case 'internal':
      return {
        status: 500,
        title: 'The install failed',
        message: 'Something went wrong on our side. Contact support with the reference below.',
        retry: false,
      };
  }
}

/**
 * The GHL install flow (GHL-CONTRACT §2): `/oauth/authorize` sends the user to GHL's choose-location
 * page; GHL sends them back to `/oauth/callback?code=…`, and sync exchanges the code over NATS (only
 * sync talks to GHL). Installs started from the marketplace listing arrive at the callback directly.
 */
@Controller('oauth')
export class OAuthController {
  private readonly logger: Logger;

  constructor(
    private readonly commands: CommandBus,
    private readonly sessions: DashboardSessionService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'oauth' });
  }

  get redirectUri(): string {
    return `${this.config.PUBLIC_BASE_URL}/oauth/callback`;
  }

  @Get('authorize')
  authorize(@Res() res: Response): void {
    const url = new URL('/v2/oauth/chooselocation', this.config.GHL_MARKETPLACE_URL);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('redirect_uri', this.redirectUri);
    url.searchParams.set('client_id', this.config.GHL_CLIENT_ID);
    url.searchParams.set('scope', this.config.GHL_OAUTH_SCOPES);
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(302, url.toString());
  }

  @Get('callback')
  async callback(@Query() query: unknown, @Res() res: Response): Promise<void> {
    const parsed = callbackQuerySchema.safeParse(query);
    const q = parsed.success ? parsed.data : {};
    if (q.error) {
      return this.page(res, 400, {
        kind: 'err',
        title: 'The install was cancelled',
        paragraphs: [
          `GoHighLevel did not authorise the app (${q.error_description ?? q.error}).`,
          'Nothing was installed. You can start again whenever you like.',
        ],
        links: [{ href: '/oauth/authorize', label: 'Install again' }],
      });
    }
    if (!q.code) {
      return this.page(res, 400, {
        kind: 'err',
        title: 'Nothing to install',
        paragraphs: [
          'This address is where GoHighLevel sends you back after you approve the app, with a one-time code. It was opened without one.',
        ],
        links: [{ href: '/oauth/authorize', label: 'Start the install' }],
      });
    }
    let result;
    try {
      result = await this.commands.request(
        'oauth.exchange_code',
        '',
        { code: q.code },
        { timeoutMs: EXCHANGE_TIMEOUT_MS, meta: { correlationId: currentCorrelationId() } },
      );
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      const failure = exchangeFailure(err);
      this.logger.warn({ code: err.code, message: err.message }, 'OAuth code exchange failed');
      return this.page(res, failure.status, {
        kind: 'err',
        title: failure.title,
        paragraphs: [failure.message],
        links: failure.retry ? [{ href: '/oauth/authorize', label: 'Start the install again' }] : [],
      });
    }
    this.logger.info(
      { userType: result.userType, locations: result.locationIds.length },
      'GHL app installed',
    );
    const dashboards: PageLink[] = result.locationIds.slice(0, MAX_DASHBOARD_LINKS).map((locationId) => {
      // Completing GHL's consent for a location proves the right to manage it: hand over a session.
      const session = this.sessions.mint(locationId, null, 'install');
      const href = `/app?locationId=${encodeURIComponent(locationId)}#session=${encodeURIComponent(session.token)}`;
      return {
        href,
        label: result.locationIds.length === 1 ? 'Link WhatsApp now' : `Link WhatsApp for ${locationId}`,
      };
    });
    const agency = result.userType === 'Company';
    this.page(res, 200, {
      kind: 'ok',
      title: 'WhatsApp for GoHighLevel is installed',
      paragraphs: [
        agency
          ? `The app is installed for your agency${result.companyId ? ` (${result.companyId})` : ''} and ${result.locationIds.length} sub-account(s).`
          : `The app is installed for sub-account ${result.locationIds[0] ?? ''}.`,
        'Next: link a WhatsApp number by scanning a QR code. You can do it now, or later from the WhatsApp page in GoHighLevel.',
      ],
      links: dashboards.length === 1 ? dashboards : [],
      items: dashboards.length > 1 ? dashboards : [],
    });
  }

  private page(
    res: Response,
    status: number,
    content: Omit<Parameters<typeof renderPage>[0], 'nonce'>,
  ): void {
    const nonce = randomBytes(16).toString('base64');
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
    res.setHeader('Cache-Control', 'no-store');
    const correlationId = currentCorrelationId();
    res
      .status(status)
      .type('html')
      .send(
        renderPage({ ...content, nonce, correlationId: content.kind === 'err' ? correlationId : undefined }),
      );
  }
}
