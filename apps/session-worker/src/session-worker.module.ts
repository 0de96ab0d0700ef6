import { DynamicModule, Module } from '@nestjs/common';
import { CoreModule } from '@app/core';
import type { SessionWorkerConfig } from '@app/config';
import { MediaStore } from '@app/messaging';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { authSecretBoxProvider } from './auth/auth-secret-box.provider';
import { AuthStateRepository } from './auth/auth-state.repository';
import { LeaseRenewalPoolLifecycle, leaseRenewalPoolProvider } from './lease/lease-renewal-pool';
import { SessionLeaseRepository } from './lease/session-lease.repository';
import { PlacementService } from './placement/placement.service';
import { SessionManager } from './session/session-manager.service';
import { SessionProjectionRepository } from './session/session-projection.repository';
import { SessionStartHandler } from './session/session-start.handler';
import { LEASE_RENEWAL_DATA_SOURCE, WORKER_CONFIG, WORKER_LOGGER } from './session-worker.tokens';
import { WHATSAPP_CLIENT, type WhatsAppClient } from './whatsapp/whatsapp.port';
import { WorkerRegistry } from './workers/worker-registry.repository';

/** What the WhatsApp client is built with once the bus is up. */
export interface WhatsAppClientDeps {
  /** Where downloaded media bytes go (the bus's media object store). */
  media: MediaStore;
}

/** Runs the WhatsApp sessions this worker owns through leases, and executes their commands. */
@Module({})
export class SessionWorkerModule {
  static forRoot(
    config: SessionWorkerConfig,
    logger: Logger,
    whatsapp: (deps: WhatsAppClientDeps) => WhatsAppClient,
  ): DynamicModule {
    return {
      module: SessionWorkerModule,
      imports: [CoreModule.forRoot({ app: 'session-worker', config, logger })],
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        { provide: WORKER_LOGGER, useValue: logger },
        {
          provide: WHATSAPP_CLIENT,
          useFactory: (media: MediaStore) => whatsapp({ media }),
          inject: [MediaStore],
        },
        authSecretBoxProvider(config),
        leaseRenewalPoolProvider(config, logger),
        LeaseRenewalPoolLifecycle,
        {
          provide: SessionLeaseRepository,
          useFactory: (ds: DataSource, renewals: DataSource) => new SessionLeaseRepository(ds, renewals),
          inject: [DataSource, LEASE_RENEWAL_DATA_SOURCE],
        },
        {
          provide: WorkerRegistry,
          useFactory: (ds: DataSource) => new WorkerRegistry(ds),
          inject: [DataSource],
        },
        AuthStateRepository,
        SessionProjectionRepository,
        SessionManager,
        SessionStartHandler,
        PlacementService,
      ],
    };
  }
}
