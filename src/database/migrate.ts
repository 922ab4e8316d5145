import pg from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../ormconfig.js';
import { createBetterAuth, migrateBetterAuth } from '../auth/better-auth.js';
import type { AppConfig } from '../config/app.config.js';

/**
 * Brings the database schema up to date: Better Auth's tables first (members reference its
 * users), then this service's TypeORM migrations. Safe to run on every boot.
 */
export async function migrateDatabase(config: AppConfig): Promise<void> {
  const pool = new pg.Pool({ connectionString: config.database.url, max: 2 });
  try {
    await migrateBetterAuth(createBetterAuth(config, pool));
  } finally {
    await pool.end();
  }
  const dataSource = new DataSource(dataSourceOptions(config.database.url));
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}
