import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema. Hand-written so every name is deliberate; the integration test proves the entities
 * describe exactly this (TypeORM's schema diff is empty after it runs).
 *
 * Value lists in CHECK constraints are spelled out rather than imported: a migration must keep meaning
 * what it meant when it shipped, even after the constants in code move on.
 *
 * There are no foreign keys on purpose: each table is written by a different app on its own schedule
 * (GHL's INSTALL webhook can arrive before the token exchange finishes, a worker may report a session
 * of a location being uninstalled), and one app's write must not fail because of another's ordering.
 */
export class InitialSchema1763726400000 implements MigrationInterface {
  name = 'InitialSchema1763726400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "installations" (
        "location_id" varchar(64) NOT NULL,
        "company_id" varchar(64),
        "install_type" varchar(16) NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'active',
        "status_reason" text,
        "installed_at" timestamptz NOT NULL DEFAULT now(),
        "uninstalled_at" timestamptz,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_installations" PRIMARY KEY ("location_id"),
        CONSTRAINT "ck_installations_install_type" CHECK ("install_type" IN ('Location', 'Company')),
        CONSTRAINT "ck_installations_status" CHECK ("status" IN ('active', 'needs_reauth', 'uninstalled'))
      )`);
    await queryRunner.query(`CREATE INDEX "ix_installations_company_id" ON "installations" ("company_id")`);

    await queryRunner.query(`
      CREATE TABLE "oauth_tokens" (
        "resource_type" varchar(16) NOT NULL,
        "resource_id" varchar(64) NOT NULL,
        "access_token_enc" bytea NOT NULL,
        "refresh_token_enc" bytea NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "scopes" text NOT NULL DEFAULT '',
        "user_type" varchar(16) NOT NULL,
        "revision" integer NOT NULL DEFAULT 0,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_oauth_tokens" PRIMARY KEY ("resource_type", "resource_id"),
        CONSTRAINT "ck_oauth_tokens_resource_type" CHECK ("resource_type" IN ('location', 'company')),
        CONSTRAINT "ck_oauth_tokens_user_type" CHECK ("user_type" IN ('Location', 'Company'))
      )`);
    await queryRunner.query(`CREATE INDEX "ix_oauth_tokens_expires_at" ON "oauth_tokens" ("expires_at")`);

    await queryRunner.query(`
      CREATE TABLE "sessions" (
        "location_id" varchar(64) NOT NULL,
        "desired_state" varchar(16) NOT NULL DEFAULT 'stopped',
        "state" varchar(16) NOT NULL DEFAULT 'stopped',
        "phone" varchar(20),
        "jid" varchar(200),
        "push_name" varchar(200),
        "last_disconnect_code" integer,
        "last_disconnect_reason" text,
        "qr" text,
        "qr_expires_at" timestamptz,
        "owner_worker_id" varchar(200),
        "state_epoch" bigint NOT NULL DEFAULT 0,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_sessions" PRIMARY KEY ("location_id"),
        CONSTRAINT "ck_sessions_desired_state" CHECK ("desired_state" IN ('running', 'stopped')),
        CONSTRAINT "ck_sessions_state" CHECK ("state" IN (
          'stopped', 'starting', 'qr', 'connecting', 'open', 'reconnecting',
          'logged_out', 'forbidden', 'qr_timeout', 'failed'
        ))
      )`);
    await queryRunner.query(`CREATE INDEX "ix_sessions_owner_worker_id" ON "sessions" ("owner_worker_id")`);
    await queryRunner.query(`CREATE INDEX "ix_sessions_desired_state" ON "sessions" ("desired_state")`);

    await queryRunner.query(`
      CREATE TABLE "session_leases" (
        "location_id" varchar(64) NOT NULL,
        "owner_id" varchar(200) NOT NULL,
        "epoch" bigint NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "acquired_at" timestamptz NOT NULL DEFAULT now(),
        "renewed_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_session_leases" PRIMARY KEY ("location_id"),
        CONSTRAINT "ck_session_leases_epoch_positive" CHECK ("epoch" > 0)
      )`);
    await queryRunner.query(`CREATE INDEX "ix_session_leases_owner_id" ON "session_leases" ("owner_id")`);
    await queryRunner.query(`CREATE INDEX "ix_session_leases_expires_at" ON "session_leases" ("expires_at")`);

    await queryRunner.query(`
      CREATE TABLE "auth_state" (
        "location_id" varchar(64) NOT NULL,
        "category" varchar(64) NOT NULL,
        "key_id" text NOT NULL,
        "value_enc" bytea NOT NULL,
        "written_epoch" bigint NOT NULL,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_auth_state" PRIMARY KEY ("location_id", "category", "key_id")
      )`);

    await queryRunner.query(`
      CREATE TABLE "processed_messages" (
        "key" text NOT NULL,
        "location_id" varchar(64) NOT NULL,
        "result" jsonb,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_processed_messages" PRIMARY KEY ("key")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_processed_messages_created_at" ON "processed_messages" ("created_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_processed_messages_location_id" ON "processed_messages" ("location_id")`,
    );

    await queryRunner.query(`
      CREATE TABLE "message_mappings" (
        "location_id" varchar(64) NOT NULL,
        "wa_message_id" varchar(200) NOT NULL,
        "ghl_message_id" varchar(200) NOT NULL,
        "direction" varchar(8) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_message_mappings" PRIMARY KEY ("location_id", "wa_message_id"),
        CONSTRAINT "uq_message_mappings_ghl_message" UNIQUE ("location_id", "ghl_message_id"),
        CONSTRAINT "ck_message_mappings_direction" CHECK ("direction" IN ('inbound', 'outbound'))
      )`);

    await queryRunner.query(`
      CREATE TABLE "api_keys" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "key_hash" varchar(64) NOT NULL,
        "scope" varchar(16) NOT NULL,
        "location_id" varchar(64),
        "label" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "revoked_at" timestamptz,
        CONSTRAINT "pk_api_keys" PRIMARY KEY ("id"),
        CONSTRAINT "ck_api_keys_scope" CHECK ("scope" IN ('admin', 'location')),
        CONSTRAINT "ck_api_keys_key_hash" CHECK ("key_hash" ~ '^[0-9a-f]{64}$'),
        CONSTRAINT "ck_api_keys_scope_location" CHECK (
          ("scope" = 'admin' AND "location_id" IS NULL) OR ("scope" = 'location' AND "location_id" IS NOT NULL)
        )
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_api_keys_key_hash" ON "api_keys" ("key_hash")`);
    await queryRunner.query(`CREATE INDEX "ix_api_keys_location_id" ON "api_keys" ("location_id")`);

    await queryRunner.query(`
      CREATE TABLE "webhook_receipts" (
        "webhook_id" varchar(200) NOT NULL,
        "received_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_webhook_receipts" PRIMARY KEY ("webhook_id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_webhook_receipts_received_at" ON "webhook_receipts" ("received_at")`,
    );

    await queryRunner.query(`
      CREATE TABLE "workers" (
        "worker_id" varchar(200) NOT NULL,
        "started_at" timestamptz NOT NULL DEFAULT now(),
        "heartbeat_at" timestamptz NOT NULL DEFAULT now(),
        "capacity" integer NOT NULL,
        "owned_count" integer NOT NULL DEFAULT 0,
        "draining" boolean NOT NULL DEFAULT false,
        CONSTRAINT "pk_workers" PRIMARY KEY ("worker_id")
      )`);
    await queryRunner.query(`CREATE INDEX "ix_workers_heartbeat_at" ON "workers" ("heartbeat_at")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'workers',
      'webhook_receipts',
      'api_keys',
      'message_mappings',
      'processed_messages',
      'auth_state',
      'session_leases',
      'sessions',
      'oauth_tokens',
      'installations',
    ]) {
      await queryRunner.query(`DROP TABLE "${table}"`);
    }
  }
}
