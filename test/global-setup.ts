import { Redis } from 'ioredis';
import pg from 'pg';
import { migrateDatabase } from '../src/database/migrate.js';
import { testConfig } from './support/test-env.js';

/** Once per `vitest run`: create the test database if needed, migrate it, empty the test Redis. */
export default async function setup(): Promise<void> {
  const config = testConfig();
  const url = new URL(config.database.url);
  const database = url.pathname.slice(1);
  const admin = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  await admin.end();
  await migrateDatabase(config);
  const redis = new Redis(config.redis.url);
  await redis.flushdb();
  await redis.quit();
}
