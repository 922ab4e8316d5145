import pg from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../ormconfig.js';
import { createBetterAuth, migrateBetterAuth } from '../auth/better-auth.js';
import type { AppConfig } from '../config/app.config.js';

/** Creates the database named in `url` when the server does not have it yet (a fresh machine). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const database = decodeURIComponent(target.pathname.slice(1));
  const admin = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
}

/**
 * Brings the database schema up to date: Better Auth's tables first (members reference its
 * users), then this service's TypeORM migrations. Safe to run on every boot.
 */
export async function migrateDatabase(config: AppConfig): Promise<void> {
  await ensureDatabase(config.database.url);
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
