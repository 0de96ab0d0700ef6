import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiError } from '../http/api-error';
import type { AuthedRequest, Principal } from './principal';

export const PUBLIC_ROUTE = 'api:public';
export const ADMIN_ONLY = 'api:admin-only';

/** An /api route that needs no credential (it is how a credential is obtained); still rate limited per IP. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** Only admin credentials: key management and the like. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

/** The authenticated caller, as the guard attached it. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!principal) throw ApiError.unauthorized();
  return principal;
});
