import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Live session workers, so placement can be fair: each worker sees everyone's `owned_count` against
 * `capacity`. Rows with an old `heartbeat_at` belong to dead workers; `draining` marks a worker that is
 * shutting down and must not be given new sessions.
 */
@Entity({ name: 'workers' })
@Index('ix_workers_heartbeat_at', ['heartbeatAt'])
export class WorkerEntity {
  @PrimaryColumn({ name: 'worker_id', type: 'varchar', length: 200, primaryKeyConstraintName: 'pk_workers' })
  workerId!: string;

  @Column({ name: 'started_at', type: 'timestamptz', default: () => 'now()' })
  startedAt!: Date;

  @Column({ name: 'heartbeat_at', type: 'timestamptz', default: () => 'now()' })
  heartbeatAt!: Date;

  /** MAX_SESSIONS of that worker. */
  @Column({ name: 'capacity', type: 'integer' })
  capacity!: number;

  @Column({ name: 'owned_count', type: 'integer', default: 0 })
  ownedCount!: number;

  @Column({ name: 'draining', type: 'boolean', default: false })
  draining!: boolean;
}
