import { randomUUID } from 'node:crypto';
import type { CompanyDto, InstallationDto } from '@app/ghl-sandbox-client/admin-api.types';
import type { SandboxConfig } from '../config/sandbox-config.schema';

/**
 * INSTALL as documented (GHL-CONTRACT §6.1, the getting-started example and the SDK's
 * InstallWebhookRequest). An agency-level install carries companyId and no locationId. No tokens.
 */
export function installPayload(
  config: SandboxConfig,
  install: InstallationDto,
  company: CompanyDto | undefined,
  now = Date.now(),
): Record<string, unknown> {
  return {
    type: 'INSTALL',
    appId: config.appId,
    versionId: config.versionId,
    installType: install.userType,
    ...(install.locationId ? { locationId: install.locationId } : {}),
    companyId: install.companyId,
    userId: install.userId,
    companyName: company?.name ?? '',
    isWhitelabelCompany: false,
    whitelabelDetails: { logoUrl: '', domain: '' },
    timestamp: new Date(now).toISOString(),
    webhookId: randomUUID(),
  };
}

/**
 * UNINSTALL: `{type, appId, locationId}` or `{type, appId, companyId}` (§6.1). `timestamp` and
 * `webhookId` are assumed present as on INSTALL, since the docs' replay protection relies on them (§6.2).
 */
export function uninstallPayload(
  config: SandboxConfig,
  target: { locationId?: string; companyId?: string },
  now = Date.now(),
): Record<string, unknown> {
  return {
    type: 'UNINSTALL',
    appId: config.appId,
    ...(target.locationId ? { locationId: target.locationId } : { companyId: target.companyId }),
    timestamp: new Date(now).toISOString(),
    webhookId: randomUUID(),
  };
}
