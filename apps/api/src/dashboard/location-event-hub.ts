import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { eventFilter, type EventEnvelope } from '@app/contracts';
import { decodeEventMessage, MessagingConnection } from '@app/messaging';
import type { Subscription } from 'nats';
import type { Logger } from 'pino';
import { API_LOGGER } from '../api.tokens';

export type EventListener = (event: EventEnvelope) => void;

interface Tap {
  subscription: Subscription;
  listeners: Set<EventListener>;
}

/**
 * Live events of a location for open dashboards: one core NATS subscription on `evt.<loc>.>` per
 * location with at least one open page, shared by all of them. Core NATS sees every JetStream publish
 * the moment it happens, with no consumer to create or clean up; a page that reconnects gets a fresh
 * snapshot from the database, so nothing depends on this subscription being lossless.
 */
@Injectable()
export class LocationEventHub implements OnApplicationShutdown {
  private readonly taps = new Map<string, Tap>();
  private readonly logger: Logger;

  constructor(
    private readonly connection: MessagingConnection,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'event-hub' });
  }

  /** Calls `listener` with every valid event of the location until the returned function is called. */
  subscribe(locationId: string, listener: EventListener): () => void {
    let tap = this.taps.get(locationId);
    if (!tap) {
      const listeners = new Set<EventListener>();
      const subscription = this.connection.nc.subscribe(eventFilter(locationId), {
        callback: (err, msg) => {
          if (err) {
            this.logger.warn({ err, locationId }, 'event subscription failed');
            return;
          }
          // A malformed event is the consumers' business (dead letters); a page just skips it. So does
          // it an event whose envelope names another location than its subject: it must never show there.
          const decoded = decodeEventMessage(msg.subject, msg.data);
          if (!decoded.ok) return;
          const event = decoded.envelope;
          for (const l of listeners) {
            try {
              l(event);
            } catch (listenerErr) {
              this.logger.warn({ err: listenerErr, locationId }, 'dashboard listener failed');
            }
          }
        },
      });
      tap = { subscription, listeners };
      this.taps.set(locationId, tap);
    }
    tap.listeners.add(listener);
    const current = tap;
    return () => {
      current.listeners.delete(listener);
      if (current.listeners.size === 0 && this.taps.get(locationId) === current) {
        this.taps.delete(locationId);
        current.subscription.unsubscribe();
      }
    };
  }

  /** Resolves once the server has every subscription made so far (tests and the first snapshot use it). */
  async flush(): Promise<void> {
    await this.connection.nc.flush();
  }

  get openLocations(): number {
    return this.taps.size;
  }

  onApplicationShutdown(): void {
    for (const tap of this.taps.values()) tap.subscription.unsubscribe();
    this.taps.clear();
  }
}
