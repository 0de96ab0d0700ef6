import { randomInt } from 'node:crypto';
import type { FaultKind, FaultResult, InjectFaultRequest, UnlinkResult } from '@app/wa-sandbox-client';
import type { Logger } from '../common/logger';
import { SandboxError } from '../common/sandbox-error';
import type { ClientConnection } from '../connection/client-connection';
import type { ConnectionRegistry } from '../connection/connection-registry';
import type { Account } from '../directory/account';
import type { AccountDirectory } from '../directory/account-directory';
import type { LinkedDevice } from '../directory/linked-device';
import { streamErrors } from '../protocol/nodes';
import type { StatsCounters } from '../stats/stats-counters';

/**
 * Server-side trouble on demand, and the phone removing a linked device. Each fault is what the real
 * service does, so Baileys reports the code the bridge must handle:
 * replaced → 440, restart → 515, drop → 428, logged_out → 401, silence → 408 (after its keep-alive).
 */
export class FaultService {
  constructor(
    private readonly directory: AccountDirectory,
    private readonly registry: ConnectionRegistry,
    private readonly stats: StatsCounters,
    private readonly logger: Logger,
  ) {}

  inject(request: InjectFaultRequest): FaultResult {
    const targets =
      request.phone !== undefined
        ? this.connectionsOf(request.phone, request.deviceId)
        : this.sample(request.percent ?? 0);
    const affected: FaultResult['affected'] = [];
    for (const connection of targets) {
      const { account, device } = connection;
      if (!account || !device) continue;
      this.apply(request.kind, connection, account, device);
      this.stats.faults[request.kind]++;
      affected.push({ phone: account.phone, deviceId: device.deviceId });
    }
    this.logger.info({ kind: request.kind, affected: affected.length }, 'fault injected');
    return { kind: request.kind, affected };
  }

  /** The phone unlinks a device: a live connection hears `401 device_removed`, a later login `401`. */
  unlink(phone: string, deviceId: number): UnlinkResult {
    const account = this.directory.get(phone);
    const device = account?.devices.get(deviceId);
    if (!account || !device) throw new SandboxError('not_found', `no device ${deviceId} on ${phone}`);
    const live = this.registry.liveFor(device);
    this.forget(account, device);
    for (const connection of live) connection.end(streamErrors.deviceRemoved());
    this.stats.unlinks++;
    return { phone, deviceId, wasConnected: live.length > 0 };
  }

  /** The companion logged itself out (`remove-companion-device`); Baileys closes with 401 on its own. */
  companionLoggedOut(connection: ClientConnection): void {
    const { account, device } = connection;
    if (!account || !device) return;
    this.forget(account, device);
    this.stats.unlinks++;
  }

  private apply(kind: FaultKind, connection: ClientConnection, account: Account, device: LinkedDevice): void {
    switch (kind) {
      case 'replaced':
        this.registry.unbind(connection);
        connection.end(streamErrors.replaced());
        return;
      case 'restart':
        this.registry.unbind(connection);
        connection.end(streamErrors.restart());
        return;
      case 'drop':
        this.registry.unbind(connection);
        connection.terminate();
        return;
      case 'logged_out':
        this.forget(account, device);
        connection.end(streamErrors.deviceRemoved());
        return;
      case 'silence':
        // Stays bound: the server cannot tell a silent socket from a live one until it closes.
        connection.mute();
        return;
    }
  }

  private forget(account: Account, device: LinkedDevice): void {
    account.devices.delete(device.deviceId);
    for (const connection of this.registry.liveFor(device)) this.registry.unbind(connection);
  }

  private connectionsOf(phone: string, deviceId?: number): ClientConnection[] {
    const account = this.directory.get(phone);
    if (!account) throw new SandboxError('not_found', `no account ${phone}`);
    const devices = deviceId === undefined ? [...account.devices.values()] : [account.devices.get(deviceId)];
    return devices.flatMap((d) => (d ? this.registry.liveFor(d).filter((c) => !c.isMuted) : []));
  }

  /** `percent` of every logged-in connection, picked at random (at least one when percent > 0). */
  private sample(percent: number): ClientConnection[] {
    const all = this.registry.loggedIn().filter((c) => !c.isMuted);
    const count = percent <= 0 ? 0 : Math.max(1, Math.round((all.length * percent) / 100));
    for (let i = all.length - 1; i > 0; i--) {
      const j = randomInt(0, i + 1);
      [all[i], all[j]] = [all[j], all[i]];
    }
    return all.slice(0, Math.min(count, all.length));
  }
}
