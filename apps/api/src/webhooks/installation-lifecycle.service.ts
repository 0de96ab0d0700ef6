import { Inject, Injectable } from '@nestjs/common';
import { CommandBus, CommandError, EventBus } from '@app/messaging';
import { currentCorrelationId } from '@app/observability';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { API_LOGGER } from '../api.tokens';
import { ApiError } from '../http/api-error';
import { SessionControlRepository } from '../locations/session-control.repository';
import type { installWebhookSchema, uninstallWebhookSchema } from './ghl-webhook.schemas';
import { InstallationRepository } from './installation.repository';

type InstallWebhook = z.infer<typeof installWebhookSchema>;
type UninstallWebhook = z.infer<typeof uninstallWebhookSchema>;

export interface LifecycleResult {
  action: string;
  locationIds: string[];
}

// Bounded so the webhook is still answered well within GHL's timeout when a worker is slow.
const LOGOUT_TIMEOUT_MS = 8_000;
const UNINSTALL_REASON = 'uninstalled in GoHighLevel';

/**
 * INSTALL and UNINSTALL. The database changes (receipt, installation, tokens, desired state) commit
 * together first: that is what must not be lost, and a replayed webhook id is refused in the same
 * transaction. The bus work follows: UNINSTALL logs the session out through its owner (unlinking the
 * phone and clearing the auth state), or clears the auth state itself when nobody owns it.
 */
@Injectable()
export class InstallationLifecycleService {
  private readonly logger: Logger;

  constructor(
    private readonly repo: InstallationRepository,
    private readonly control: SessionControlRepository,
    private readonly commands: CommandBus,
    private readonly events: EventBus,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'installation-lifecycle' });
  }

  async install(hook: InstallWebhook): Promise<LifecycleResult> {
    const locationId = hook.locationId;
    await this.repo.dataSource.transaction(async (tx) => {
      await this.receipt(tx, hook.webhookId);
      if (locationId) {
        await this.repo.install(tx, {
          locationId,
          companyId: hook.companyId ?? null,
          installType: hook.installType,
        });
      }
    });
    if (!locationId) {
      // An agency install names no location: its locations come in their own INSTALLs and the OAuth callback.
      this.logger.info({ companyId: hook.companyId }, 'agency INSTALL received');
      return { action: 'agency_install_noted', locationIds: [] };
    }
    this.logger.info({ locationId, installType: hook.installType }, 'app installed');
    await this.announce(locationId, 'installed', hook.companyId ?? null, hook.installType);
    return { action: 'installed', locationIds: [locationId] };
  }

  async uninstall(hook: UninstallWebhook): Promise<LifecycleResult> {
    const locationIds = await this.repo.dataSource.transaction(async (tx) => {
      await this.receipt(tx, hook.webhookId);
      const targets = hook.locationId
        ? [hook.locationId]
        : await this.repo.companyLocations(tx, hook.companyId ?? '');
      for (const locationId of targets) await this.repo.uninstallLocation(tx, locationId, UNINSTALL_REASON);
      if (!hook.locationId && hook.companyId) await this.repo.deleteCompanyToken(tx, hook.companyId);
      return targets;
    });
    for (const locationId of locationIds) {
      try {
        await this.endSession(locationId);
      } catch (err) {
        // The uninstall itself is committed (and the webhook id spent): a retry would be refused as a
        // replay, so this is logged for an operator rather than turned into a 429.
        this.logger.error({ err, locationId }, 'uninstalled, but the WhatsApp session could not be ended');
      }
      await this.announce(
        locationId,
        'uninstalled',
        hook.companyId ?? null,
        hook.locationId ? null : 'Company',
      );
    }
    this.logger.info({ locationIds, companyId: hook.companyId }, 'app uninstalled');
    return { action: 'uninstalled', locationIds };
  }

  private async receipt(tx: Parameters<InstallationRepository['recordReceipt']>[0], webhookId?: string) {
    if (webhookId && !(await this.repo.recordReceipt(tx, webhookId))) {
      throw new ApiError(409, 'webhook_replayed', `webhook ${webhookId} was already received`);
    }
  }

  /** Logs the session out at its owner; without an owner, deletes the stored auth state here. */
  private async endSession(locationId: string): Promise<void> {
    try {
      await this.commands.request(
        'session.logout',
        locationId,
        {},
        {
          timeoutMs: LOGOUT_TIMEOUT_MS,
          meta: { correlationId: currentCorrelationId() },
        },
      );
      return;
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      if (err.code !== 'no_responder') {
        this.logger.warn({ locationId, code: err.code }, 'owner did not log out on uninstall; stopping it');
        await this.commands
          .request('session.stop', locationId, {}, { timeoutMs: LOGOUT_TIMEOUT_MS })
          .catch((stopErr: unknown) =>
            this.logger.warn({ locationId, err: stopErr }, 'stop on uninstall failed'),
          );
      }
    }
    const outcome = await this.control.logoutUnowned(locationId, UNINSTALL_REASON);
    if (outcome.outcome === 'owner_alive') {
      // The owner's desired state is already `stopped` and its tokens are gone; it cannot run long.
      this.logger.warn({ locationId }, 'a live owner kept the session on uninstall; auth state left to it');
    }
  }

  private async announce(
    locationId: string,
    change: 'installed' | 'uninstalled',
    companyId: string | null,
    installType: 'Location' | 'Company' | null,
  ): Promise<void> {
    try {
      await this.events.publish(
        'installation.changed',
        locationId,
        { change, companyId, installType },
        { correlationId: currentCorrelationId() },
      );
    } catch (err) {
      // The database already says it; the event only tells listeners sooner.
      this.logger.warn({ err, locationId, change }, 'could not publish installation.changed');
    }
  }
}
