import type { LocationSnapshot } from './location-read.repository';
import type { LocationStatus } from './locations.schemas';
import { disconnectInWords, explainSession, type InstallationHealth } from './session-explanation';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function installationHealth(s: LocationSnapshot): InstallationHealth {
  const install = s.installation;
  if (!install) return 'not_installed';
  switch (install.status) {
    case 'uninstalled':
      return 'uninstalled';
    case 'needs_reauth':
      return 'needs_reauth';
    case 'active':
      // An agency install mints the location token from the agency token on first use.
      return s.locationToken || (install.installType === 'Company' && s.companyToken)
        ? 'ok'
        : 'awaiting_token';
  }
}

/** The status answer: what the projection says, judged by the database clock, with its plain-words reading. */
export function toLocationStatus(s: LocationSnapshot): LocationStatus {
  const session = s.session;
  const now = s.dbNow.getTime();
  const health = installationHealth(s);
  const ownerLive = s.lease?.live ?? false;
  const qrLive = session?.qrLive ?? false;
  const lastCode = session?.lastDisconnectCode ?? null;
  const lastReason = session?.lastDisconnectReason ?? null;
  return {
    locationId: s.locationId,
    whatsapp: {
      state: session?.state ?? 'not_started',
      desiredState: session?.desiredState ?? null,
      phone: session?.phone ?? null,
      pushName: session?.pushName ?? null,
      lastDisconnect:
        lastCode !== null || lastReason !== null
          ? { code: lastCode, reason: lastReason, meaning: disconnectInWords(lastCode) }
          : null,
      owner: s.lease
        ? {
            workerId: s.lease.ownerId,
            live: s.lease.live,
            leaseExpiresAt: s.lease.expiresAt.toISOString(),
            epoch: s.lease.epoch,
          }
        : null,
      qr: {
        available: qrLive,
        expiresAt: qrLive ? iso(session?.qrExpiresAt) : null,
        expiresInSeconds:
          qrLive && session?.qrExpiresAt
            ? Math.max(0, Math.round((session.qrExpiresAt.getTime() - now) / 1000))
            : null,
      },
      updatedAt: iso(session?.updatedAt),
    },
    ghl: {
      health,
      status: s.installation?.status ?? null,
      installType: s.installation?.installType ?? null,
      companyId: s.installation?.companyId ?? null,
      reason: s.installation?.statusReason ?? null,
      installedAt: iso(s.installation?.installedAt),
      tokenExpiresAt: iso(s.locationToken?.expiresAt),
    },
    explanation: explainSession({
      installation: health,
      installationReason: s.installation?.statusReason ?? null,
      state: session?.state ?? null,
      desiredState: session?.desiredState ?? null,
      ownerLive,
      phone: session?.phone ?? null,
      pushName: session?.pushName ?? null,
      lastDisconnectCode: lastCode,
      lastDisconnectReason: lastReason,
      qrLive,
      secondsSinceUpdate: session ? Math.round((now - session.updatedAt.getTime()) / 1000) : null,
    }),
    checkedAt: s.dbNow.toISOString(),
  };
}
