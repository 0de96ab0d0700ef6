import type { proto } from '@whiskeysockets/baileys';
import type { Logger } from '../common/logger';
import type { SettingsHolder } from '../common/settings';
import type { ClientConnection } from '../connection/client-connection';
import type { ConnectionRegistry } from '../connection/connection-registry';
import type { Account } from '../directory/account';
import type { AccountDirectory } from '../directory/account-directory';
import type { LinkedDevice } from '../directory/linked-device';
import type { MessagingService } from '../messaging/messaging.service';
import { failure, node, nowSeconds, S_WHATSAPP_NET, streamErrors } from '../protocol/nodes';
import type { StatsCounters } from '../stats/stats-counters';
import { appStateKeyShare, initialHistorySync } from './history-sync';

/**
 * A companion with credentials logs in: it must be a linked device and present the Noise key it
 * registered. Newest connection wins: an older connection of the same device is told `replaced`.
 */
export class LoginService {
  constructor(
    private readonly directory: AccountDirectory,
    private readonly registry: ConnectionRegistry,
    private readonly messaging: MessagingService,
    private readonly stats: StatsCounters,
    private readonly settings: SettingsHolder,
    private readonly logger: Logger,
  ) {}

  login(connection: ClientConnection, payload: proto.ClientPayload): void {
    const phone = String(payload.username);
    const deviceId = payload.device ?? 0;
    const account = this.directory.get(phone);
    const device = account?.devices.get(deviceId);
    if (!account || !device || !connection.clientStaticKey?.equals(device.noiseKey)) {
      this.stats.loginFailures++;
      this.logger.info({ conn: connection.id, phone, deviceId }, 'login refused: not a linked device (401)');
      connection.end(failure(401));
      return;
    }
    const others = this.registry.liveFor(device).filter((c) => c !== connection);
    if (others.length) {
      // Counted before the eviction: this is the "two sockets on one device" the session tests look for.
      this.stats.doubleConnections++;
      device.doubleConnections++;
      for (const other of others) {
        this.logger.info(
          { conn: other.id, by: connection.id, jid: device.jid },
          'second login of a device: replaced',
        );
        this.registry.unbind(other);
        other.end(streamErrors.replaced());
      }
    }
    connection.stage = 'logged-in';
    this.registry.bind(connection, account, device);
    this.stats.logins++;
    device.logins++;
    connection.send(
      node('success', {
        t: nowSeconds(),
        props: '1',
        abprops: '1',
        location: 'sandbox',
        lid: device.lidJid,
        creation: String(Math.floor(account.createdAt.getTime() / 1000)),
      }),
    );
    const queued = device.offlineQueue.splice(0);
    for (const stanza of queued) connection.deliver({ ...stanza, attrs: { ...stanza.attrs, offline: '1' } });
    // Ends the offline batch: Baileys flushes its event buffer and reports receivedPendingNotifications.
    connection.send(
      node('ib', { from: S_WHATSAPP_NET }, [node('offline', { count: String(queued.length) })]),
    );
    if (this.settings.current.historySync && !device.historySynced) {
      device.historySynced = true;
      this.sendInitialSync(account, device).catch((error: Error) =>
        this.logger.warn({ jid: device.jid, err: error.message }, 'initial history sync failed'),
      );
    }
  }

  private async sendInitialSync(account: Account, device: LinkedDevice): Promise<void> {
    await this.messaging.sendFromOwnPhone(account, device, appStateKeyShare(account, device));
    await this.messaging.sendFromOwnPhone(account, device, initialHistorySync(account));
  }
}
