import { Check, Column, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { sqlInList } from './sql-check';

export const INSTALL_TYPES = ['Location', 'Company'] as const;
export type InstallType = (typeof INSTALL_TYPES)[number];

export const INSTALLATION_STATUSES = ['active', 'needs_reauth', 'uninstalled'] as const;
export type InstallationStatus = (typeof INSTALLATION_STATUSES)[number];

/**
 * One row per GHL location that has the app, whether installed on the location itself or through an
 * agency (Company) install. Uninstalling keeps the row (status `uninstalled`) for the audit trail.
 */
@Entity({ name: 'installations' })
@Index('ix_installations_company_id', ['companyId'])
@Check('ck_installations_install_type', sqlInList('install_type', INSTALL_TYPES))
@Check('ck_installations_status', sqlInList('status', INSTALLATION_STATUSES))
export class InstallationEntity {
  @PrimaryColumn({
    name: 'location_id',
    type: 'varchar',
    length: 64,
    primaryKeyConstraintName: 'pk_installations',
  })
  locationId!: string;

  /** Absent on some installs: GHL omits it for "future locations" installs. */
  @Column({ name: 'company_id', type: 'varchar', length: 64, nullable: true })
  companyId!: string | null;

  @Column({ name: 'install_type', type: 'varchar', length: 16 })
  installType!: InstallType;

  @Column({ name: 'status', type: 'varchar', length: 16, default: 'active' })
  status!: InstallationStatus;

  /** Why the status last changed, e.g. `invalid_grant on refresh`. */
  @Column({ name: 'status_reason', type: 'text', nullable: true })
  statusReason!: string | null;

  /** Reset on a re-install, so not a create-date column. */
  @Column({ name: 'installed_at', type: 'timestamptz', default: () => 'now()' })
  installedAt!: Date;

  @Column({ name: 'uninstalled_at', type: 'timestamptz', nullable: true })
  uninstalledAt!: Date | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
