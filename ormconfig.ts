import 'reflect-metadata';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations/index.js';
import { ENTITIES } from './src/database/entities.js';
import { SnakeNamingStrategy } from './src/database/snake-naming.strategy.js';

/** The one DataSource definition, shared by the app (DatabaseModule) and the TypeORM CLI. */
export function dataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
    migrationsRun: false,
    migrationsTableName: 'typeorm_migrations',
    // Runs and idempotency writes are short; a modest pool keeps PostgreSQL connections bounded per process.
    extra: { max: 10 },
  };
}

export default new DataSource(
  dataSourceOptions(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/agent_run_api'),
);
