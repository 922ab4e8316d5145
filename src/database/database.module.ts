import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { dataSourceOptions } from '../../ormconfig.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app.config.js';

/** The app's TypeORM connection; migrations are applied by the boot step, never `synchronize`. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({ ...dataSourceOptions(config.database.url), retryAttempts: 0 }),
    }),
  ],
})
export class DatabaseModule {}
