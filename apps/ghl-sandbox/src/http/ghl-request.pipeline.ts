import type { IncomingHttpHeaders } from 'node:http';
import type { UserType } from '@app/ghl-sandbox-client/admin-api.types';
import type { ApiHandlers, ApiRequest } from '../api/api-handler';
import type { OpenApiOperation, ValidationIssue } from '../openapi/openapi-catalog';
import type { SandboxContext } from '../sandbox-context';
import type { TokenRecord } from '../state/sandbox-state';
import { GhlHttpError, MESSAGES } from './ghl-http.error';
import type { ParsedBody } from './request-body';

/** Version values live GHL accepts on v2 paths (GHL-CONTRACT §1, 3P probes). */
const LIVE_VERSIONS = ['2021-07-28', '2021-04-15', '2023-02-21', 'v3'];

/** Which token a security scheme takes (oauth.json securitySchemes). PITs are not modelled. */
const SCHEME_USER_TYPES: Record<string, UserType[]> = {
  bearer: ['Location'],
  'Location-Access': ['Location'],
  'Location-Access-Only': ['Location'],
  'Agency-Access': ['Company'],
  'Agency-Access-Only': ['Company'],
};

export interface PipelineResult {
  status: number;
  body?: unknown;
  headers: Record<string, string>;
  /** Destroy the socket instead of answering (fault injection). */
  drop?: boolean;
  faultId?: string;
  locationId?: string;
}

export interface GhlRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  body: ParsedBody;
}

function lastValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function bearerOf(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
  return match?.[1].trim();
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One GHL API request, in the order the real gateway is assumed to apply its checks: route (404),
 * injected fault, Version header (401), bearer token and scope (401), rate limit (429), OpenAPI
 * validation (422), then the behaviour.
 */
export class GhlRequestPipeline {
  constructor(
    private readonly ctx: SandboxContext,
    private readonly handlers: ApiHandlers,
  ) {}

  async run(req: GhlRequest, result: PipelineResult): Promise<PipelineResult> {
    const match = this.ctx.catalog.match(req.method, req.path);
    if (!match) throw GhlHttpError.routeNotFound(req.method, req.path);
    const { operation, pathParams } = match;
    result.locationId = this.locationHint(req);

    const fault = this.ctx.faults.take({
      method: req.method,
      path: req.path,
      operationId: operation.operationId,
      locationId: result.locationId,
    });
    if (fault) {
      result.faultId = fault.id;
      switch (fault.action.kind) {
        case 'delay':
          await sleep(fault.action.ms);
          break;
        case 'drop':
          return { ...result, status: 0, drop: true };
        case 'error':
          return {
            ...result,
            status: fault.action.status,
            body: fault.action.body ?? { statusCode: fault.action.status, message: 'Internal server error' },
          };
        case 'rate-limit':
          return {
            ...result,
            status: 429,
            headers: {
              ...result.headers,
              ...this.ctx.rateLimiter.exhaustedHeaders(this.rateKey(result.locationId)),
            },
            body: { statusCode: 429, message: MESSAGES.tooManyRequests },
          };
      }
    }

    this.checkVersion(operation, req.headers);
    const token = operation.security ? this.authenticate(operation, req.headers) : null;
    if (token) {
      result.locationId = token.locationId ?? result.locationId;
      const verdict = this.ctx.rateLimiter.take(this.rateKey(token.locationId ?? token.companyId));
      Object.assign(result.headers, verdict.headers);
      if (!verdict.allowed) {
        throw new GhlHttpError(429, { statusCode: 429, message: MESSAGES.tooManyRequests });
      }
    }

    const issues = this.ctx.catalog.validate(
      operation,
      {
        query: req.query,
        headers: req.headers,
        pathParams,
        contentType: req.body.contentType,
        body: req.body.value,
        fileFields: req.body.files.map((f) => f.field),
      },
      { rejectUnknownProperties: this.ctx.settings.rejectUnknownProperties },
    );
    // An OAuth server ignores parameters it does not know (RFC 6749 §3.1); only DTO endpoints reject them.
    const relevant =
      operation.operationId === 'get-access-token' ? issues.filter((i) => i.kind !== 'unknown') : issues;
    if (relevant.length > 0) throw this.validationError(operation, relevant);

    const handler = this.handlers[operation.operationId];
    if (!handler) {
      throw new GhlHttpError(501, {
        statusCode: 501,
        message: `The GHL sandbox does not implement ${operation.operationId} (${operation.method} ${operation.pathTemplate})`,
        error: 'Not Implemented',
      });
    }
    const value = req.body.value;
    const apiRequest: ApiRequest = {
      operation,
      pathParams,
      query: Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, lastValue(v) ?? ''])),
      body:
        value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {},
      files: req.body.files,
      token,
      now: Date.now(),
    };
    const response = await handler(apiRequest);
    return { ...result, status: response.status, body: response.body };
  }

  private rateKey(resource: string | undefined): string {
    return `${this.ctx.config.clientId}:${resource ?? 'anonymous'}`;
  }

  /** The location a request concerns, for fault matching before the token is checked. */
  private locationHint(req: GhlRequest): string | undefined {
    const bearer = bearerOf(req.headers);
    const token = bearer ? this.ctx.state.tokens.get(bearer) : undefined;
    if (token?.locationId) return token.locationId;
    const fromQuery = lastValue(req.query.locationId);
    if (fromQuery) return fromQuery;
    const body = req.body.value as Record<string, unknown> | null;
    return body && typeof body === 'object' && typeof body.locationId === 'string'
      ? body.locationId
      : undefined;
  }

  private checkVersion(operation: OpenApiOperation, headers: IncomingHttpHeaders): void {
    if (!operation.versions) return;
    const version = lastValue(headers.version);
    if (!version) throw GhlHttpError.unauthorized(MESSAGES.versionMissing);
    const accepted = this.ctx.settings.versionMode === 'live' ? LIVE_VERSIONS : operation.versions;
    if (!accepted.includes(version)) throw GhlHttpError.unauthorized(MESSAGES.versionInvalid);
  }

  private authenticate(operation: OpenApiOperation, headers: IncomingHttpHeaders): TokenRecord {
    const bearer = bearerOf(headers);
    const token = bearer ? this.ctx.oauth.verifyAccess(bearer) : null;
    if (!token) throw GhlHttpError.unauthorized(MESSAGES.invalidJwt);
    const alternatives = (operation.security ?? []).flatMap((requirement) =>
      Object.entries(requirement).map(([scheme, scopes]) => ({
        types: SCHEME_USER_TYPES[scheme] ?? [],
        scopes,
      })),
    );
    const typed = alternatives.filter((a) => a.types.includes(token.userType));
    if (typed.length === 0) throw GhlHttpError.unauthorized(MESSAGES.userTypeMismatch);
    if (!typed.some((a) => a.scopes.every((s) => token.scopes.includes(s)))) {
      throw GhlHttpError.unauthorized(MESSAGES.scopeMissing);
    }
    return token;
  }

  private validationError(operation: OpenApiOperation, issues: ValidationIssue[]): GhlHttpError {
    if (operation.operationId === 'get-access-token') {
      // The token endpoint is an OAuth server, not a class-validator DTO: it answers 400 with
      // node-oauth2-server style messages (GHL-CONTRACT §2.2, §11 row 2).
      const first = issues.find((i) => i.kind === 'required') ?? issues[0];
      return GhlHttpError.badRequest(
        first.kind === 'required' ? `Missing parameter: ${first.field}` : `Invalid parameter: ${first.field}`,
      );
    }
    return GhlHttpError.unprocessable(issues.map((i) => i.message));
  }
}
