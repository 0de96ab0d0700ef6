import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { ApiConfig } from '@app/config';
import { locationIdSchema } from '@app/contracts';
import type { Response } from 'express';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { API_CONFIG } from '../api.tokens';
import { AllowedOrigins } from '../http/allowed-origins';
import { renderDashboard } from './dashboard.page';
import { DASHBOARD_SCRIPT } from './dashboard.script';
import { DASHBOARD_CSS } from './dashboard.styles';
import { renderOperatorPage } from './operator.page';
import { OPERATOR_SCRIPT } from './operator.script';

const pageQuerySchema = z.object({ locationId: locationIdSchema.optional() });

const etag = (text: string) => `"${createHash('sha256').update(text).digest('base64url').slice(0, 22)}"`;
const SCRIPT_ETAG = etag(DASHBOARD_SCRIPT);
const CSS_ETAG = etag(DASHBOARD_CSS);
const OPERATOR_SCRIPT_ETAG = etag(OPERATOR_SCRIPT);

/**
 * The page GHL embeds (`/app?locationId=…`), served by the api with no build step. It may be framed only
 * by GHL's origins (CSP `frame-ancestors`; no `X-Frame-Options`, which cannot express a list).
 */
@Controller('app')
export class DashboardController {
  private readonly origins: AllowedOrigins;

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {
    this.origins = new AllowedOrigins(config.GHL_WHITELABEL_ORIGINS);
  }

  @Get()
  page(@Query() query: unknown, @Res() res: Response): void {
    const parsed = pageQuerySchema.safeParse(query);
    const locationId = parsed.success ? (parsed.data.locationId ?? '') : '';
    const frameAncestors = this.origins.frameAncestors();
    res.removeHeader('X-Frame-Options');
    res.setHeader(
      'Content-Security-Policy',
      [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        `frame-ancestors ${frameAncestors}`,
      ].join('; '),
    );
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      renderDashboard({
        locationId,
        ghlOrigins: frameAncestors,
        devLogin: this.config.NODE_ENV !== 'production',
      }),
    );
  }

  /** The operators' view; never framed (it is not part of GHL), data only with an API key. */
  @Get('operator')
  operator(@Query() query: unknown, @Res() res: Response): void {
    const parsed = pageQuerySchema.safeParse(query);
    res.setHeader(
      'Content-Security-Policy',
      [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ].join('; '),
    );
    res.setHeader('Cache-Control', 'no-store');
    res
      .type('html')
      .send(renderOperatorPage({ locationId: parsed.success ? (parsed.data.locationId ?? '') : '' }));
  }

  @Get('operator.js')
  operatorScript(@Res() res: Response): void {
    this.asset(res, 'application/javascript; charset=utf-8', OPERATOR_SCRIPT, OPERATOR_SCRIPT_ETAG);
  }

  @Get('app.js')
  script(@Res() res: Response): void {
    this.asset(res, 'application/javascript; charset=utf-8', DASHBOARD_SCRIPT, SCRIPT_ETAG);
  }

  @Get('app.css')
  styles(@Res() res: Response): void {
    this.asset(res, 'text/css; charset=utf-8', DASHBOARD_CSS, CSS_ETAG);
  }

  private asset(res: Response, type: string, body: string, tag: string): void {
    // Revalidated on every load (cheap with the ETag): a deploy reaches every open GHL tab at once.
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('ETag', tag);
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (res.req.header('if-none-match') === tag) {
      res.status(304).end();
      return;
    }
    res.type(type).send(body);
  }
}
