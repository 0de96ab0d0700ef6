import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiError } from '../http/api-error';
import type { AuthedRequest, Principal } from './principal';

export const PUBLIC_ROUTE = 'api:public';
export const ADMIN_ONLY = 'api:admin-only';
export const OPERATOR_ONLY = 'api:operator-only';

/** An /api route that needs no credential (it is how a credential is obtained); still rate limited per IP. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** Only admin credentials: key management and the like. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

/**
 * Only operator credentials: API keys (admin, or scoped to the route's location), not dashboard
 * sessions. For views made to debug a location (its whole event history, its dead letters).
 */
export const OperatorOnly = () => SetMetadata(OPERATOR_ONLY, true);

/** The authenticated caller, as the guard attached it. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!principal) throw ApiError.unauthorized();
  return principal;
});
