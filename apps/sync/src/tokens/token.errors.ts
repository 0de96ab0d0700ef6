/**
 * Why a location cannot be synced right now although nothing is wrong with the event. The consumers
 * retry these after a long delay (a person has to act) and dead-letter them after the last delivery.
 */
export abstract class LocationBlockedError extends Error {
  abstract readonly blockedBy: 'reauth_required' | 'not_installed' | 'location_inactive';

  constructor(
    readonly locationId: string,
    message: string,
  ) {
    super(message);
  }
}

/** GHL refused the refresh token (invalid_grant) or a Private Integration token: someone must re-install. */
export class ReauthRequiredError extends LocationBlockedError {
  override readonly name = 'ReauthRequiredError';
  readonly blockedBy = 'reauth_required';

  constructor(
    locationId: string,
    readonly reason: string,
  ) {
    super(locationId, `GHL re-authorisation required for ${locationId}: ${reason}`);
  }
}

/** No token for the location, and no agency token to mint one from. */
export class NotInstalledError extends LocationBlockedError {
  override readonly name = 'NotInstalledError';
  readonly blockedBy = 'not_installed';

  constructor(locationId: string) {
    super(locationId, `the GHL app is not installed for location ${locationId} (no token)`);
  }
}

/** `Location is not active` (a paused SaaS sub-account): temporary, and the token is kept (§2.2). */
export class LocationInactiveError extends LocationBlockedError {
  override readonly name = 'LocationInactiveError';
  readonly blockedBy = 'location_inactive';

  constructor(locationId: string) {
    super(locationId, `GHL says location ${locationId} is not active; its token is kept for when it returns`);
  }
}
