import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../ormconfig.js';
import { testConfig } from './support/test-env.js';

/**
 * The migrations and the entities describe the same schema: on a migrated database TypeORM
 * finds nothing to change, so `npm run migration:generate` starts from a clean slate.
 */
describe('database schema', () => {
  let db: DataSource;

  beforeAll(async () => {
    db = await new DataSource(dataSourceOptions(testConfig().database.url)).initialize();
  });
  afterAll(() => db.destroy());

  it('has every migration applied', async () => {
    expect(await db.showMigrations()).toBe(false);
  });

  it('matches the entities exactly (no pending schema change)', async () => {
    const pending = await db.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });
});
