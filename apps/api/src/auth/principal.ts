import type { Request } from 'express';

/**
 * Who is calling. Admin keys reach every location; a location key or a dashboard session reaches one
 * location only. `id` identifies the credential (rate limiting, logs) and is never the secret.
 */
export type Principal =
  | { kind: 'admin'; via: 'api_key' | 'bootstrap_key'; id: string }
  | { kind: 'location'; via: 'api_key'; id: string; locationId: string }
  | {
      kind: 'location';
      via: 'dashboard';
      id: string;
      locationId: string;
      userId: string | null;
      expiresAt: Date;
    };

export type AuthedRequest = Request & { principal?: Principal };

/** Whether the principal may act on the location: admins everywhere, others only on their own. */
export function canAccessLocation(principal: Principal, locationId: string): boolean {
  switch (principal.kind) {
    case 'admin':
      return true;
    case 'location':
      return principal.locationId === locationId;
  }
}

/** API keys are operators' credentials; dashboard sessions are a tenant's people. */
export function isOperator(principal: Principal): boolean {
  return principal.kind === 'admin' || principal.via === 'api_key';
}
