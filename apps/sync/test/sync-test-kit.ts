import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { parseEnv, syncConfigSchema, type SyncConfig } from '@app/config';
import {
  createEvent,
  eventSubject,
  replaySubject,
  type EventEnvelope,
  type EventPayload,
  type EventType,
} from '@app/contracts';
import { CommandBus, EventBus, MessagingConnection, STREAMS, StreamProvisioner } from '@app/messaging';
import { createLogger, type Logger } from '@app/observability';
import { createDataSource, MIGRATIONS_TABLE, SecretBox } from '@app/persistence';
import { startNatsServer, type NatsServerHandle, eventually } from '@app/testing';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import {
  GhlSandboxAdminClient,
  type LocationDto,
  type ProviderDto,
  type RecordedRequestDto,
} from '@app/ghl-sandbox-client';
import { pino } from 'pino';
import { DataSource } from 'typeorm';
import { startGhlSandbox, type GhlSandbox } from '../../ghl-sandbox/src/ghl-sandbox';
import type { SandboxConfigInput } from '../../ghl-sandbox/src/config/sandbox-config.schema';
import { Sql } from '../src/db/sql';
import { SyncModule } from '../src/sync.module';
import { InstallationRepository, TokenRepository } from '../src/tokens/token.repository';

/**
 * What the sync's integration and end-to-end tests stand on: a private nats-server, a throwaway
 * migrated database, the GHL sandbox in-process, and a bus connection for the test itself (publishing
 * WhatsApp events, serving commands, watching every event). The sync runs in-process (`startSync`) or
 * as built processes (e2e specs, with `syncEnv`).
 */
export interface SyncTestKit {
  nats: NatsServerHandle;
  db: TestDatabase;
  dataSource: DataSource;
  sandbox: GhlSandbox;
  admin: GhlSandboxAdminClient;
  provider: ProviderDto;
  connection: MessagingConnection;
  bus: EventBus;
  commands: CommandBus;
  /** Every event seen on `evt.>` since the kit started (or `events.length = 0`). */
  events: EventEnvelope[];
  logger: Logger;
  /** The environment a sync process (or `startSync`) gets. */
  syncEnv(overrides?: Record<string, string>): Record<string, string>;
  startSync(overrides?: Record<string, string>, logs?: LogSink): Promise<INestApplicationContext>;
  tokenRepository: TokenRepository;
  installationRepository: InstallationRepository;
  newLocation(): Promise<LocationDto>;
  /** A location with the app installed: sandbox token pair stored (encrypted) in the sync's table. */
  installedLocation(): Promise<{ location: LocationDto; accessToken: string; refreshToken: string }>;
  storeTokens(
    locationId: string,
    tokens: { access: string; refresh: string; expiresAt?: Date },
  ): Promise<void>;
  publish<T extends EventType>(
    type: T,
    locationId: string,
    payload: EventPayload<T>,
    id?: string,
  ): Promise<EventEnvelope<T>>;
  /** Stores the same envelope again under another de-duplication id: a redelivery/replay at the bus level. */
  republish(envelope: EventEnvelope, copy: string, subject?: 'events' | 'replay'): Promise<void>;
  results(sourceEventId: string): EventEnvelope<'ghl.sync_result'>[];
  ofType<T extends EventType>(type: T, locationId?: string): EventEnvelope<T>[];
  /** Requests the sandbox answered with a 4xx it would not send to a well-formed call (422, 404, 501). */
  schemaViolations(): Promise<RecordedRequestDto[]>;
  deadLetters(): Promise<{ subject: string; headers: Record<string, string>; body: unknown }[]>;
  close(): Promise<void>;
}

export type LogSink = { lines: Record<string, unknown>[]; stream: Writable };

/** Collects JSON log lines so a test can count what the app said. */
export function logSink(): LogSink {
  const sink: LogSink = {
    lines: [],
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.trim() === '') continue;
          try {
            sink.lines.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // not JSON
          }
        }
        done();
      },
    }),
  };
  return sink;
}

let counter = 0;
/** GHL-like ids that are unique across the kit's locations. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}${randomBytes(2).toString('hex')}`;
}

export async function startSyncTestKit(
  options: { sandbox?: SandboxConfigInput; dbPrefix?: string } = {},
): Promise<SyncTestKit> {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const nats = await startNatsServer();
  const db = await createTestDatabase(options.dbPrefix ?? 'sync_test');
  const dataSource = createDataSource(db.url);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  const sandbox = await startGhlSandbox({
    port: 0,
    logLevel: 'silent',
    statusUpdateDelaySeconds: 0.3,
    ...options.sandbox,
    webhook: { retryDelayMs: 10, timeoutMs: 2_000, ...options.sandbox?.webhook },
  });
  const admin = new GhlSandboxAdminClient(sandbox.url, sandbox.config.adminToken);
  // Nobody listens at the delivery URL in these tests: the api's part (webhook → bus) is played by the test.
  const provider = await admin.createProvider({
    deliveryUrl: 'http://127.0.0.1:9/provider',
    name: 'WhatsApp',
  });

  const connection = await MessagingConnection.connect({ servers: nats.url, name: 'sync-test', logger });
  await new StreamProvisioner(connection, logger).ensureStreams();
  const bus = new EventBus(connection, logger);
  const commands = new CommandBus(connection, logger);
  const events: EventEnvelope[] = [];
  const decoder = new TextDecoder();
  connection.nc.subscribe('evt.>', {
    callback: (err, msg) => {
      if (err) return;
      try {
        events.push(JSON.parse(decoder.decode(msg.data)) as EventEnvelope);
      } catch {
        // not an envelope
      }
    },
  });
  await connection.nc.flush();

  const apps: INestApplicationContext[] = [];
  // Tokens are written with the sync's own repository, so they are sealed exactly as the app seals them.
  const sql = new Sql(dataSource);
  const tokenRepository = new TokenRepository(
    sql,
    SecretBox.fromBase64(parseEnv(syncConfigSchema, {}).ENCRYPTION_KEY),
  );
  const installationRepository = new InstallationRepository(sql);

  const kit: SyncTestKit = {
    nats,
    db,
    dataSource,
    sandbox,
    admin,
    provider,
    connection,
    bus,
    commands,
    events,
    logger,
    tokenRepository,
    installationRepository,
    syncEnv: (overrides = {}) => ({
      NODE_ENV: 'test',
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      GHL_API_BASE_URL: sandbox.url,
      GHL_CONVERSATION_PROVIDER_ID: provider.id,
      GHL_REQUEST_TIMEOUT: '3s',
      GHL_STATUS_RETRY_DELAY: '200ms',
      GHL_REAUTH_RETRY_DELAY: '1s',
      SYNC_ACK_WAIT: '10s',
      SYNC_CONCURRENCY: '32',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      ...overrides,
    }),
    async startSync(overrides = {}, logs) {
      const config: SyncConfig = parseEnv(syncConfigSchema, {
        ...kit.syncEnv(overrides),
        INSTANCE_ID: overrides.INSTANCE_ID ?? uniqueId('sync-test-'),
      });
      const appLogger = createLogger({
        app: 'sync',
        instanceId: config.INSTANCE_ID,
        level: logs ? 'info' : ((process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent'),
        destination: logs?.stream,
      });
      const app = await NestFactory.createApplicationContext(SyncModule.forRoot(config, appLogger), {
        logger: false,
        abortOnError: false,
      });
      apps.push(app);
      return app;
    },
    async newLocation() {
      return admin.createLocation({ id: uniqueId('loc') });
    },
    async installedLocation() {
      const location = await kit.newLocation();
      const pair = await admin.issueTokens({ locationId: location.id });
      await kit.storeTokens(location.id, { access: pair.access_token, refresh: pair.refresh_token });
      return { location, accessToken: pair.access_token, refreshToken: pair.refresh_token };
    },
    async storeTokens(locationId, tokens) {
      await tokenRepository.write('location', locationId, {
        accessToken: tokens.access,
        refreshToken: tokens.refresh,
        expiresAt: tokens.expiresAt ?? new Date(Date.now() + 86_399_000),
        scopes: '',
        userType: 'Location',
        kind: 'oauth',
      });
      const companyId = sandbox.state.locations.get(locationId)?.companyId ?? null;
      await installationRepository.markInstalled(locationId, { companyId, installType: 'Location' });
    },
    async publish(type, locationId, payload, id) {
      const { envelope } = await bus.publish(type, locationId, payload, id ? { id } : {});
      return envelope;
    },
    async republish(envelope, copy, subject = 'events') {
      const target =
        subject === 'replay'
          ? replaySubject(envelope.type, envelope.locationId)
          : eventSubject(envelope.type, envelope.locationId);
      await bus.publishEnvelope(envelope, target, { msgId: `${envelope.id}:${copy}` });
    },
    results: (sourceEventId) =>
      events.filter(
        (e): e is EventEnvelope<'ghl.sync_result'> =>
          e.type === 'ghl.sync_result' && e.payload.sourceEventId === sourceEventId,
      ),
    ofType: <T extends EventType>(type: T, locationId?: string) =>
      events.filter(
        (e) => e.type === type && (locationId === undefined || e.locationId === locationId),
      ) as unknown as EventEnvelope<T>[],
    async schemaViolations() {
      const requests = await admin.requests();
      return requests.filter((r) => [404, 422, 501].includes(r.status));
    },
    async deadLetters() {
      const jsm = await connection.jsm();
      const info = await jsm.streams.info(STREAMS.deadLetters);
      const letters: { subject: string; headers: Record<string, string>; body: unknown }[] = [];
      if (info.state.messages === 0) return letters;
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        try {
          const stored = await jsm.streams.getMessage(STREAMS.deadLetters, { seq });
          const headers: Record<string, string> = {};
          for (const [key, values] of stored.header ?? []) headers[key] = values[0] ?? '';
          letters.push({ subject: stored.subject, headers, body: JSON.parse(decoder.decode(stored.data)) });
        } catch {
          // deleted
        }
      }
      return letters;
    },
    async close() {
      for (const app of apps.reverse()) await app.close().catch(() => undefined);
      await connection.drain(2_000).catch(() => undefined);
      await sandbox.close();
      await dataSource.destroy().catch(() => undefined);
      await nats.stop();
      await db.drop();
    },
  };
  return kit;
}

/** A WhatsApp inbound text from `phone` (E.164), as the session worker publishes it. */
export function inboundText(
  phone: string,
  text: string,
  options: { waMessageId?: string; pushName?: string | null; sentAt?: Date } = {},
): EventPayload<'message.inbound'> {
  const digits = phone.slice(1);
  return {
    waMessageId: options.waMessageId ?? uniqueId('3EB0'),
    chatJid: `${digits}@s.whatsapp.net`,
    from: { phone, jid: `${digits}@s.whatsapp.net`, lid: null, pushName: options.pushName ?? null },
    sentAt: (options.sentAt ?? new Date()).toISOString(),
    content: { kind: 'text', text },
  };
}

let phoneCounter = 0;
/** A fresh E.164 number per call. */
export function newPhone(): string {
  phoneCounter += 1;
  const n = (Date.now() % 1_000_000) * 100 + (phoneCounter % 100);
  return `+1555${String(n).padStart(8, '0').slice(-8)}`;
}

export { createEvent, eventually, MIGRATIONS_TABLE };
