import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';

interface PgPool {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs `text` as a named prepared statement on the DataSource's own pg pool: each connection
 * parses and plans it once, later calls send only Bind/Execute. For the few statements on the
 * run endpoint's hot path; `name` must be unique per distinct `text`. Errors are pg's own
 * (`code`, `message`), not TypeORM's QueryFailedError.
 */
export async function preparedQuery<T>(db: DataSource, name: string, text: string, values: unknown[]): Promise<T[]> {
  const pool = (db.driver as PostgresDriver).master as PgPool;
  const result = await pool.query({ name, text, values });
  return result.rows as T[];
}
