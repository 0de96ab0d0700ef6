import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { SyncConfig } from '@app/config';
import type { Logger } from 'pino';
import { Sql } from '../db/sql';
import { SYNC_CONFIG, SYNC_LOGGER } from '../sync.tokens';

// Hourly is plenty for a table that only grows by the events synced; the first run waits a minute so
// a starting pod does not add work to its boot.
const FIRST_RUN_MS = 60_000;
const EVERY_MS = 60 * 60_000;
// Bounded deletes keep each statement (and its locks) short on a large table.
const BATCH = 10_000;

/**
 * Idempotency records are needed while their event can still come back: redelivered, or replayed
 * from the event stream. Events live `EVENTS_MAX_AGE` there, so records twice that old are deleted.
 */
@Injectable()
export class ProcessedMessagePruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly sql: Sql,
    @Inject(SYNC_CONFIG) private readonly config: SyncConfig,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'processed-message-pruner' });
  }

  onApplicationBootstrap(): void {
    this.schedule(FIRST_RUN_MS);
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
  }

  /** Deletes expired records; returns how many. */
  async prune(): Promise<number> {
    const keepMs = this.config.EVENTS_MAX_AGE * 2;
    let total = 0;
    for (;;) {
      const { affected } = await this.sql.query(
        `DELETE FROM processed_messages WHERE key IN (
           SELECT key FROM processed_messages
            WHERE created_at < now() - $1::bigint * interval '1 millisecond'
            LIMIT $2)`,
        [keepMs, BATCH],
      );
      total += affected;
      if (affected < BATCH) return total;
    }
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.prune()
        .then(
          (deleted) => {
            if (deleted > 0) this.logger.info({ deleted }, 'expired idempotency records deleted');
          },
          (err: unknown) => this.logger.warn({ err }, 'could not prune idempotency records'),
        )
        .finally(() => this.schedule(EVERY_MS));
    }, delayMs);
    this.timer.unref();
  }
}
