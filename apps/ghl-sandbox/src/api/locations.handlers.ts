import { GhlHttpError } from '../http/ghl-http.error';
import type { SandboxState } from '../state/sandbox-state';
import { assertLocationAccess, tokenOf, type ApiHandlers } from './api-handler';

/** GET /locations/{locationId}: country and timezone for the bridge (GHL-CONTRACT §2.6). */
export function locationsHandlers(state: SandboxState): ApiHandlers {
  return {
    'get-location': (req) => {
      const location = state.locations.get(req.pathParams.locationId);
      assertLocationAccess(tokenOf(req), req.pathParams.locationId, location?.companyId);
      if (!location) throw GhlHttpError.badRequest('Location not found');
      return {
        status: 200,
        body: {
          location: {
            id: location.id,
            companyId: location.companyId,
            name: location.name,
            address: location.address,
            country: location.country,
            timezone: location.timezone,
            settings: { allowDuplicateContact: location.allowDuplicateContact },
          },
        },
      };
    },
  };
}
