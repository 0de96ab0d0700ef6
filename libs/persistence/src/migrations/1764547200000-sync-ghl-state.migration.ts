import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the sync app needs beyond the initial schema:
 *
 * - `oauth_tokens.token_kind`: a Private Integration token (GHL-CONTRACT §9) is a static bearer token
 *   with no refresh token, so `refresh_token_enc` becomes optional for that kind only.
 * - `ghl_contacts`: which GHL contact (and conversation) a WhatsApp phone number is, per location, so a
 *   chat's messages cost one GHL call instead of three.
 * - `rate_limit_buckets`: GHL's per-location sliding-window limit, shared by every sync replica.
 */
export class SyncGhlState1764547200000 implements MigrationInterface {
  name = 'SyncGhlState1764547200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "oauth_tokens" ADD "token_kind" varchar(24) NOT NULL DEFAULT 'oauth'`,
    );
    await queryRunner.query(`ALTER TABLE "oauth_tokens" ALTER COLUMN "refresh_token_enc" DROP NOT NULL`);
    await queryRunner.query(
      `ALTER TABLE "oauth_tokens" ADD CONSTRAINT "ck_oauth_tokens_token_kind"
         CHECK ("token_kind" IN ('oauth', 'private_integration'))`,
    );
    await queryRunner.query(
      `ALTER TABLE "oauth_tokens" ADD CONSTRAINT "ck_oauth_tokens_refresh_token"
         CHECK ("token_kind" = 'private_integration' OR "refresh_token_enc" IS NOT NULL)`,
    );

    await queryRunner.query(`
      CREATE TABLE "ghl_contacts" (
        "location_id" varchar(64) NOT NULL,
        "phone" varchar(20) NOT NULL,
        "contact_id" varchar(200) NOT NULL,
        "conversation_id" varchar(200),
        "has_name" boolean NOT NULL DEFAULT false,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_ghl_contacts" PRIMARY KEY ("location_id", "phone")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_ghl_contacts_contact_id" ON "ghl_contacts" ("location_id", "contact_id")`,
    );

    await queryRunner.query(`
      CREATE TABLE "rate_limit_buckets" (
        "resource_key" varchar(100) NOT NULL,
        "max_requests" integer NOT NULL,
        "interval_ms" integer NOT NULL,
        "stamps" double precision array NOT NULL DEFAULT '{}',
        "blocked_until_ms" double precision,
        "daily_limit" integer NOT NULL,
        "day" varchar(10) NOT NULL,
        "day_count" integer NOT NULL DEFAULT 0,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_rate_limit_buckets" PRIMARY KEY ("resource_key"),
        CONSTRAINT "ck_rate_limit_buckets_positive" CHECK ("max_requests" > 0 AND "interval_ms" > 0 AND "daily_limit" > 0)
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "rate_limit_buckets"`);
    await queryRunner.query(`DROP TABLE "ghl_contacts"`);
    // Private Integration tokens have no refresh token and cannot exist in the older schema.
    await queryRunner.query(`DELETE FROM "oauth_tokens" WHERE "token_kind" = 'private_integration'`);
    await queryRunner.query(`ALTER TABLE "oauth_tokens" DROP CONSTRAINT "ck_oauth_tokens_refresh_token"`);
    await queryRunner.query(`ALTER TABLE "oauth_tokens" DROP CONSTRAINT "ck_oauth_tokens_token_kind"`);
    await queryRunner.query(`ALTER TABLE "oauth_tokens" ALTER COLUMN "refresh_token_enc" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "oauth_tokens" DROP COLUMN "token_kind"`);
  }
}
