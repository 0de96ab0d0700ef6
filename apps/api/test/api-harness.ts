import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { apiConfigSchema, parseEnv, type ApiConfig } from '@app/config';
import { CommandBus, EventBus, MessagingConnection } from '@app/messaging';
import { createDataSource, runMigrations } from '@app/persistence';
import { startNatsServer, type NatsServerHandle } from '@app/testing';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { ApiModule } from '../src/api.module';
import { configureHttpEdge } from '../src/http/http-edge';

/** A JSON answer the tests inspect freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const ADMIN_KEY = 'admin-bootstrap-key-for-tests-0123456789';

/** Webhook signing keys made for the test, like GHL's (Ed25519 and the legacy RSA). */
export interface SigningKeys {
  ed25519: { privateKey: KeyObject; publicPem: string };
  rsa: { privateKey: KeyObject; publicPem: string };
}

export function makeSigningKeys(): SigningKeys {
  const ed = generateKeyPairSync('ed25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ed25519: {
      privateKey: ed.privateKey,
      publicPem: String(ed.publicKey.export({ type: 'spki', format: 'pem' })),
    },
    rsa: {
      privateKey: rsa.privateKey,
      publicPem: String(rsa.publicKey.export({ type: 'spki', format: 'pem' })),
    },
  };
}

export function signEd25519(keys: SigningKeys, body: string): string {
  return sign(null, Buffer.from(body), keys.ed25519.privateKey).toString('base64');
}

export function signRsa(keys: SigningKeys, body: string): string {
  return sign('sha256', Buffer.from(body), keys.rsa.privateKey).toString('base64');
}

export interface HttpAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * The api Nest app in this process (Jest can load it: the api never imports Baileys) with the same
 * HTTP edge as production, against a private nats-server and a throwaway migrated database. The test
 * owns a second bus connection to play the session worker and sync, and a DataSource to seed state.
 */
export class ApiHarness {
  private constructor(
    readonly app: INestApplication,
    readonly url: string,
    readonly config: ApiConfig,
    readonly nats: NatsServerHandle,
    readonly db: TestDatabase,
    readonly dataSource: DataSource,
    readonly connection: MessagingConnection,
    readonly commands: CommandBus,
    readonly events: EventBus,
  ) {}

  static async start(
    env: Record<string, string> = {},
    shared?: { nats: NatsServerHandle; db: TestDatabase },
  ) {
    const nats = shared?.nats ?? (await startNatsServer());
    const db = shared?.db ?? (await createTestDatabase('test_api'));
    if (!shared) await runMigrations(db.url, () => undefined);
    const config = parseEnv(apiConfigSchema, {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      HTTP_PORT: '0',
      INSTANCE_ID: 'api-test',
      ADMIN_API_KEY: ADMIN_KEY,
      PUBLIC_BASE_URL: 'http://127.0.0.1:3000',
      ...env,
    });
    const logger = pino({ level: process.env.API_TEST_LOG ?? 'silent' });
    const app = await NestFactory.create(ApiModule.forRoot(config, logger), {
      logger: false,
      abortOnError: false,
    });
    configureHttpEdge(app, config);
    await app.listen(config.HTTP_PORT, '127.0.0.1');
    const port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
    const dataSource = await createDataSource(db.url).initialize();
    const connection = await MessagingConnection.connect({
      servers: nats.url,
      name: 'api-test-peer',
      logger,
    });
    return new ApiHarness(
      app,
      `http://127.0.0.1:${port}`,
      config,
      nats,
      db,
      dataSource,
      connection,
      new CommandBus(connection, logger),
      new EventBus(connection, logger),
    );
  }

  /** Stops the app; with `keepShared`, the NATS server and database stay for another app. */
  async stop(keepShared = false): Promise<void> {
    await this.app.close();
    await this.connection.drain();
    await this.dataSource.destroy();
    if (!keepShared) {
      await this.nats.stop();
      await this.db.drop();
    }
  }

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { token?: string | null; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
  ): Promise<HttpAnswer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let payload: string | undefined = options.raw;
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      payload = JSON.stringify(options.body);
    }
    const res = await fetch(`${this.url}${path}`, { method, headers, body: payload, redirect: 'manual' });
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) body = text ? JSON.parse(text) : undefined;
    return { status: res.status, headers: res.headers, body: body as T, text };
  }

  // ---------------------------------------------------------------- seeding

  async install(
    locationId: string,
    options: { status?: string; installType?: string; companyId?: string | null; token?: boolean } = {},
  ): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO installations (location_id, company_id, install_type, status) VALUES ($1, $2, $3, $4)
       ON CONFLICT (location_id) DO UPDATE SET status = EXCLUDED.status, install_type = EXCLUDED.install_type,
         company_id = EXCLUDED.company_id`,
      [locationId, options.companyId ?? null, options.installType ?? 'Location', options.status ?? 'active'],
    );
    if (options.token ?? true) {
      await this.dataSource.query(
        `INSERT INTO oauth_tokens (resource_type, resource_id, access_token_enc, refresh_token_enc, expires_at, scopes, user_type)
         VALUES ('location', $1, $2, $2, now() + interval '1 day', 'contacts.readonly conversations/message.write', 'Location')
         ON CONFLICT DO NOTHING`,
        [locationId, randomBytes(40)],
      );
    }
  }

  async setSession(
    locationId: string,
    row: {
      state: string;
      desiredState?: string;
      phone?: string | null;
      qr?: string | null;
      qrExpiresInMs?: number | null;
      owner?: string | null;
      lastDisconnectCode?: number | null;
      lastDisconnectReason?: string | null;
    },
  ): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO sessions (location_id, desired_state, state, phone, qr, qr_expires_at, owner_worker_id,
                             last_disconnect_code, last_disconnect_reason, state_epoch)
       VALUES ($1, $2, $3, $4, $5, CASE WHEN $6::int IS NULL THEN NULL ELSE now() + make_interval(secs => $6::int / 1000.0) END,
               $7, $8, $9, 1)
       ON CONFLICT (location_id) DO UPDATE SET desired_state = EXCLUDED.desired_state, state = EXCLUDED.state,
         phone = EXCLUDED.phone, qr = EXCLUDED.qr, qr_expires_at = EXCLUDED.qr_expires_at,
         owner_worker_id = EXCLUDED.owner_worker_id, last_disconnect_code = EXCLUDED.last_disconnect_code,
         last_disconnect_reason = EXCLUDED.last_disconnect_reason, updated_at = now()`,
      [
        locationId,
        row.desiredState ?? 'running',
        row.state,
        row.phone ?? null,
        row.qr ?? null,
        row.qrExpiresInMs ?? null,
        row.owner ?? null,
        row.lastDisconnectCode ?? null,
        row.lastDisconnectReason ?? null,
      ],
    );
  }

  async setLease(locationId: string, owner: string, liveForMs: number, epoch = 3): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO session_leases (location_id, owner_id, epoch, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4::int / 1000.0))
       ON CONFLICT (location_id) DO UPDATE SET owner_id = EXCLUDED.owner_id, epoch = EXCLUDED.epoch,
         expires_at = EXCLUDED.expires_at`,
      [locationId, owner, epoch, liveForMs],
    );
  }

  async addAuthState(locationId: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO auth_state (location_id, category, key_id, value_enc, written_epoch)
       VALUES ($1, 'creds', '', $2, 1), ($1, 'pre-key', '1', $2, 1) ON CONFLICT DO NOTHING`,
      [locationId, randomBytes(32)],
    );
  }

  async authStateCount(locationId: string): Promise<number> {
    const rows = await this.dataSource.query<{ n: string }[]>(
      `SELECT count(*) AS n FROM auth_state WHERE location_id = $1`,
      [locationId],
    );
    return Number(rows[0].n);
  }

  /** A location-scoped (or admin) API key stored the way operators' keys are: hashed. */
  async apiKey(scope: 'admin' | 'location', locationId: string | null = null): Promise<string> {
    const key = `wak_test_${randomBytes(18).toString('base64url')}`;
    await this.dataSource.query(
      `INSERT INTO api_keys (key_hash, scope, location_id, label) VALUES ($1, $2, $3, 'test')`,
      [createHash('sha256').update(key).digest('hex'), scope, locationId],
    );
    return key;
  }

  async devSession(locationId: string): Promise<string> {
    const res = await this.request<{ token: string }>('POST', '/api/dev/session', { body: { locationId } });
    if (res.status !== 201) throw new Error(`dev session for ${locationId}: ${res.status} ${res.text}`);
    return res.body.token;
  }
}
