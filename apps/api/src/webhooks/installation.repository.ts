import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** The writes INSTALL and UNINSTALL webhooks make, each inside the caller's transaction. */
@Injectable()
export class InstallationRepository {
  constructor(readonly dataSource: DataSource) {}

  /** True when the webhook id is new; false for a replay. */
  async recordReceipt(tx: EntityManager, webhookId: string): Promise<boolean> {
    // Receipts only need to outlive the timestamp window; a week leaves room for GHL's slow retries.
    // Install webhooks are rare, so pruning here costs nothing and needs no scheduler.
    await tx.query(`DELETE FROM webhook_receipts WHERE received_at < now() - interval '7 days'`);
    const rows = await tx.query<unknown[]>(
      `INSERT INTO webhook_receipts (webhook_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING webhook_id`,
      [webhookId],
    );
    return rows.length === 1;
  }

  /** Marks the location installed (again); tokens arrive separately, through the OAuth callback. */
  async install(
    tx: EntityManager,
    input: { locationId: string; companyId: string | null; installType: 'Location' | 'Company' },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO installations (location_id, company_id, install_type, status, status_reason, installed_at, uninstalled_at, updated_at)
       VALUES ($1, $2, $3, 'active', NULL, now(), NULL, now())
       ON CONFLICT (location_id) DO UPDATE
         SET company_id = COALESCE(EXCLUDED.company_id, installations.company_id),
             install_type = EXCLUDED.install_type,
             status = 'active',
             status_reason = NULL,
             installed_at = CASE WHEN installations.status = 'uninstalled' THEN now() ELSE installations.installed_at END,
             uninstalled_at = NULL,
             updated_at = now()`,
      [input.locationId, input.companyId, input.installType],
    );
  }

  /** The locations an agency-level UNINSTALL takes the app away from. */
  async companyLocations(tx: EntityManager, companyId: string): Promise<string[]> {
    const rows = await tx.query<{ location_id: string }[]>(
      `SELECT location_id FROM installations
        WHERE company_id = $1 AND install_type = 'Company' AND status <> 'uninstalled'
        ORDER BY location_id`,
      [companyId],
    );
    return rows.map((r) => r.location_id);
  }

  /** Uninstalled: kept for the audit trail, tokens deleted, the session to stay stopped. */
  async uninstallLocation(tx: EntityManager, locationId: string, reason: string): Promise<void> {
    await tx.query(
      `UPDATE installations SET status = 'uninstalled', status_reason = $2, uninstalled_at = now(), updated_at = now()
        WHERE location_id = $1`,
      [locationId, reason],
    );
    await tx.query(
      `UPDATE sessions SET desired_state = 'stopped', updated_at = now() WHERE location_id = $1`,
      [locationId],
    );
    await tx.query(`DELETE FROM oauth_tokens WHERE resource_type = 'location' AND resource_id = $1`, [
      locationId,
    ]);
  }

  async deleteCompanyToken(tx: EntityManager, companyId: string): Promise<void> {
    await tx.query(`DELETE FROM oauth_tokens WHERE resource_type = 'company' AND resource_id = $1`, [
      companyId,
    ]);
  }
}
