import { Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource, type QueryResult, type QueryRunner } from 'typeorm';

export interface Rows<T> {
  rows: T[];
  affected: number;
}

/** Runs statements on one connection; inside `transaction` that connection holds the transaction. */
export interface SqlRunner {
  query<T = Record<string, unknown>>(sql: string, parameters?: unknown[], name?: string): Promise<Rows<T>>;
}

/**
 * Raw SQL over the app's TypeORM pool. The sync's statements are single conditional statements (or one
 * short transaction), so their guarantees are readable in one place instead of spread over an ORM.
 *
 * Single statements go straight to the driver's `pg` pool: every event of the hot path runs two or
 * three of them, and TypeORM's query runner (acquire, broadcast, log, release) costs as much as the
 * statement. A `name` makes it a prepared statement (parsed once per connection).
 */
@Injectable()
export class Sql implements SqlRunner {
  constructor(private readonly dataSource: DataSource) {}

  async query<T = Record<string, unknown>>(
    sql: string,
    parameters: unknown[] = [],
    name?: string,
  ): Promise<Rows<T>> {
    const pool = this.pool();
    if (pool) {
      const result = await pool.query<T & object>({
        text: sql,
        values: parameters,
        ...(name ? { name } : {}),
      });
      return { rows: result.rows, affected: result.rowCount ?? 0 };
    }
    const runner = this.dataSource.createQueryRunner();
    try {
      return structured<T>(await runner.query(sql, parameters, true));
    } finally {
      await runner.release();
    }
  }

  /** Commits when `work` resolves, rolls back when it throws. */
  async transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const runner: QueryRunner = this.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      const result = await work({
        query: async <R>(sql: string, parameters: unknown[] = []) =>
          structured<R>(await runner.query(sql, parameters, true)),
      });
      await runner.commitTransaction();
      return result;
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await runner.release();
    }
  }

  /** The TypeORM postgres driver's pool (`driver.master`), when the driver exposes it. */
  private pool(): Pool | undefined {
    const master = (this.dataSource.driver as unknown as { master?: Pool }).master;
    return master && typeof master.query === 'function' ? master : undefined;
  }
}

function structured<T>(result: unknown): Rows<T> {
  const { records, affected } = result as QueryResult<T>;
  return { rows: records ?? [], affected: affected ?? 0 };
}
