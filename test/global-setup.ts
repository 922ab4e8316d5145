import { Redis } from 'ioredis';
import { migrateDatabase } from '../src/database/migrate.js';
import { testConfig } from './support/test-env.js';

/** Once per `vitest run`: create the test database if needed, migrate it, empty the test Redis. */
export default async function setup(): Promise<void> {
  const config = testConfig();
  await migrateDatabase(config);
  const redis = new Redis(config.redis.url);
  await redis.flushdb();
  await redis.quit();
}
