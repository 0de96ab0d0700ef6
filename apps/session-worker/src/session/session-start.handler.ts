import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { CommandBus, CommandError } from '@app/messaging';
import { DataSource } from 'typeorm';
import { SessionLeaseRepository } from '../lease/session-lease.repository';
import { SessionManager } from './session-manager.service';
import { SessionProjectionRepository } from './session-projection.repository';

/** Every worker serves `session.start` in one queue group: exactly one of them answers each start. */
export const START_QUEUE = 'session-workers';

/**
 * `session.start`: records that the session should run and, if nobody owns it, claims it here when
 * this worker has room (otherwise the placement loop of a worker with room takes it). A start for a
 * session that is already running is answered with its state and changes nothing.
 */
@Injectable()
export class SessionStartHandler implements OnApplicationBootstrap {
  constructor(
    private readonly commands: CommandBus,
    private readonly manager: SessionManager,
    private readonly leases: SessionLeaseRepository,
    private readonly projection: SessionProjectionRepository,
    private readonly dataSource: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    this.commands.handle(
      'session.start',
      '*',
      async ({ locationId }) => {
        if (!(await this.isInstalled(locationId))) {
          throw new CommandError('unknown_location', `location ${locationId} has not installed the app`);
        }
        await this.projection.requestRunning(locationId);
        const holder = await this.leases.holder(locationId);
        if (holder?.live) {
          const state =
            this.manager.stateOf(locationId) ?? (await this.projection.state(locationId)) ?? 'starting';
          return { state, workerId: holder.ownerId };
        }
        const claimed = await this.manager.claim(locationId);
        return { state: 'starting' as const, workerId: claimed ? this.manager.workerId : null };
      },
      { queue: START_QUEUE },
    );
  }

  private async isInstalled(locationId: string): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      `SELECT 1 FROM installations WHERE location_id = $1 AND status <> 'uninstalled'`,
      [locationId],
    );
    return rows.length > 0;
  }
}
