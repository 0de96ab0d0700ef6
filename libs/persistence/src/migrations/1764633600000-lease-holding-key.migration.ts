import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `session_leases (location_id, epoch)` becomes a key: the identity of one holding of a lease.
 *
 * Credential writes fence themselves by locking their lease row `FOR KEY SHARE` (see
 * `AuthStateRepository`). Postgres lets that lock coexist with updates that leave every key column
 * alone — a renewal moves only `expires_at` — but makes any update that changes a key column wait for
 * it. With `epoch` in a key, a takeover (which raises the epoch) is serialised with in-flight writes,
 * while renewals never wait behind them. Without this key, a takeover would not wait either and the
 * fence would be gone.
 */
export class LeaseHoldingKey1764633600000 implements MigrationInterface {
  name = 'LeaseHoldingKey1764633600000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "session_leases" ADD CONSTRAINT "uq_session_leases_holding" UNIQUE ("location_id", "epoch")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "session_leases" DROP CONSTRAINT "uq_session_leases_holding"`);
  }
}
