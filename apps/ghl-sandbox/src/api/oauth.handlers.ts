import type { InstallationDto } from '@app/ghl-sandbox-client/admin-api.types';
import type { OAuthService } from '../auth/oauth.service';
import type { SandboxConfig } from '../config/sandbox-config.schema';
import { GhlHttpError } from '../http/ghl-http.error';
import type { SandboxState } from '../state/sandbox-state';
import { str, tokenOf, type ApiHandlers } from './api-handler';

export interface OAuthHandlerDeps {
  state: SandboxState;
  config: SandboxConfig;
  oauth: OAuthService;
  /** Sends UNINSTALL for what an API uninstall removed. */
  onUninstall: (removed: InstallationDto[], target: { locationId?: string; companyId?: string }) => void;
}

/** OAuth (§2.2–2.4) and marketplace installation endpoints (§2.5). */
export function oauthHandlers({ state, config, oauth, onUninstall }: OAuthHandlerDeps): ApiHandlers {
  return {
    'get-access-token': (req) => {
      const form = Object.fromEntries(
        Object.entries(req.body).map(([k, v]) => [k, Array.isArray(v) ? String(v[v.length - 1]) : String(v)]),
      );
      return { status: 200, body: oauth.token(form, req.now) };
    },

    'get-location-access-token': (req) => ({
      status: 200,
      body: oauth.locationToken(tokenOf(req), str(req.body.companyId)!, str(req.body.locationId)!, req.now),
    }),

    'get-installed-location': (req) => ({
      status: 200,
      body: oauth.installedLocations(tokenOf(req), req.query),
    }),

    'uninstall-application': (req) => {
      const token = tokenOf(req);
      if (req.pathParams.appId !== config.appId) throw GhlHttpError.badRequest('Invalid appId');
      const target =
        token.userType === 'Location'
          ? { locationId: str(req.body.locationId) }
          : { companyId: str(req.body.companyId) };
      // "If you pass location token, then locationId is required" (DeleteIntegrationBodyDto).
      if (token.userType === 'Location' && !target.locationId)
        throw GhlHttpError.unprocessable(['locationId should not be empty']);
      if (token.userType === 'Company' && !target.companyId)
        throw GhlHttpError.unprocessable(['companyId should not be empty']);
      if (target.locationId && target.locationId !== token.locationId) {
        throw GhlHttpError.forbidden('The token does not have access to this location');
      }
      if (target.companyId && target.companyId !== token.companyId) {
        throw GhlHttpError.forbidden('The token does not have access to this company');
      }
      const removed = oauth.uninstall(target);
      onUninstall(removed, target);
      return { status: 200, body: { success: true } };
    },

    'get-installer-details': (req) => {
      const token = tokenOf(req);
      if (req.pathParams.appId !== config.appId) throw GhlHttpError.badRequest('Invalid appId');
      const install = token.locationId
        ? state.locationInstalls.get(token.locationId)
        : state.companyInstalls.get(token.companyId);
      if (!install) throw GhlHttpError.badRequest('App is not installed');
      const company = state.companies.get(token.companyId);
      return {
        status: 200,
        body: {
          installationDetails: {
            companyId: token.companyId,
            ...(token.locationId ? { locationId: token.locationId } : {}),
            companyName: company?.name ?? '',
            userId: install.userId,
            isWhitelabelCompany: false,
            // Null for sub-account installs "due to PII concerns" (marketplace.json).
            companyEmail: null,
            companyOwnerFullName: null,
          },
        },
      };
    },
  };
}
