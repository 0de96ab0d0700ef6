import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { locationIdSchema } from '@app/contracts';
import type { Response } from 'express';
import { ApiError } from '../http/api-error';
import { ApiKeyService } from './api-key.service';
import { ADMIN_ONLY, OPERATOR_ONLY, PUBLIC_ROUTE } from './auth.decorators';
import { DASHBOARD_TOKEN_PREFIX, DashboardSessionService } from './dashboard-session.service';
import { canAccessLocation, isOperator, type AuthedRequest, type Principal } from './principal';
import { RateLimitService } from './rate-limit.service';

/**
 * The one gate of `/api`: deny by default. Every route under /api needs a credential unless marked
 * `@Public()`; the credential is rate limited; `@AdminOnly()` routes need an admin and `@OperatorOnly()`
 * routes an API key; and any route with a `:locationId` is reachable only by an admin or a credential
 * of that very location. Routes outside /api (probes, webhooks, OAuth, the page) have their own checks
 * and pass through untouched.
 */
@Injectable()
export class ApiAccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeyService,
    private readonly sessions: DashboardSessionService,
    private readonly rateLimit: RateLimitService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    if (!req.path.startsWith('/api/') && req.path !== '/api') return true;

    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) {
      this.rateLimit.consume(`ip:${req.ip}`, res);
      return true;
    }

    const principal = await this.authenticate(req.header('authorization'));
    if (!principal) {
      // Failed attempts spend the caller's IP budget, so guessing keys is slow and cheap for us.
      this.rateLimit.consume(`ip:${req.ip}`, res);
      throw ApiError.unauthorized();
    }
    this.rateLimit.consume(`${principal.kind}:${principal.id}`, res);
    req.principal = principal;

    if (this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets) && principal.kind !== 'admin') {
      throw ApiError.forbidden('admin_required', 'this endpoint needs an admin API key');
    }
    if (this.reflector.getAllAndOverride<boolean>(OPERATOR_ONLY, targets) && !isOperator(principal)) {
      throw ApiError.forbidden('operator_required', 'this endpoint needs an operator API key');
    }
    const locationId = (req.params as Record<string, string | undefined>).locationId;
    if (locationId !== undefined) {
      if (!locationIdSchema.safeParse(locationId).success) {
        throw ApiError.badRequest('invalid_location_id', `"${locationId.slice(0, 80)}" is not a location id`);
      }
      if (!canAccessLocation(principal, locationId)) {
        throw ApiError.forbidden('forbidden_location', 'this credential is not allowed for this location');
      }
    }
    return true;
  }

  private async authenticate(header: string | undefined): Promise<Principal | null> {
    const match = /^Bearer ([\x21-\x7e]{1,2048})$/.exec(header ?? '');
    if (!match) return null;
    const token = match[1];
    if (token.startsWith(DASHBOARD_TOKEN_PREFIX)) {
      const claims = this.sessions.verify(token);
      if (!claims) return null;
      return {
        kind: 'location',
        via: 'dashboard',
        id: `${claims.loc}:${claims.sub ?? claims.via}`,
        locationId: claims.loc,
        userId: claims.sub,
        expiresAt: new Date(claims.exp * 1000),
      };
    }
    return this.apiKeys.authenticate(token);
  }
}
