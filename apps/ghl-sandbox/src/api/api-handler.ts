import type { OpenApiOperation } from '../openapi/openapi-catalog';
import { GhlHttpError, MESSAGES } from '../http/ghl-http.error';
import type { UploadedFile } from '../http/request-body';
import type { TokenRecord } from '../state/sandbox-state';

/** A request that passed routing, Version, auth, rate limiting and OpenAPI validation. */
export interface ApiRequest {
  operation: OpenApiOperation;
  pathParams: Record<string, string>;
  /** Query parameters, last value wins. */
  query: Record<string, string>;
  /** The validated body: a JSON object or form fields; `{}` without a body. */
  body: Record<string, unknown>;
  files: UploadedFile[];
  /** The bearer token's record; null only for public operations (`POST /oauth/token`). */
  token: TokenRecord | null;
  now: number;
}

export interface ApiResponse {
  status: number;
  /** JSON body; undefined sends an empty body. */
  body?: unknown;
}

export type ApiHandler = (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;
export type ApiHandlers = Record<string, ApiHandler>;

export function tokenOf(req: ApiRequest): TokenRecord {
  if (!req.token) throw GhlHttpError.unauthorized(MESSAGES.invalidJwt);
  return req.token;
}

/**
 * A location-scoped call: a Location token may touch only its own location (GHL-CONTRACT §1, 403
 * `The token does not have access to this location`); a Company token only locations of its company.
 */
export function assertLocationAccess(
  token: TokenRecord,
  locationId: string,
  companyOfLocation?: string,
): void {
  const ok =
    token.userType === 'Location'
      ? token.locationId === locationId
      : companyOfLocation !== undefined && companyOfLocation === token.companyId;
  if (!ok) throw GhlHttpError.forbidden(MESSAGES.noLocationAccess);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
