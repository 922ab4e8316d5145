import { BullModule } from '@nestjs/bullmq';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AgentsModule } from './agents/agents.module.js';
import { ApiKeysModule } from './api-keys/api-keys.module.js';
import { AuthModule } from './auth/auth.module.js';
import { ProblemDetailsFilter } from './common/problem/problem-details.filter.js';
import { createValidationPipe } from './common/validation/validation.pipe.js';
import { loadConfig, type AppConfig } from './config/app.config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { EndUsersModule } from './end-users/end-users.module.js';
import { HealthModule } from './health/health.module.js';
import { IdempotencyModule } from './idempotency/idempotency.module.js';
import { ModelsModule } from './models/models.module.js';
import { OrgsModule } from './orgs/orgs.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { RedisModule } from './redis/redis.module.js';
import { RunExecutionModule } from './runs/execution/run-execution.module.js';

/** The whole service. `forRoot(config)` lets e2e tests boot it with settings of their own. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig = loadConfig()): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        RedisModule,
        BullModule.forRoot({ connection: { url: config.redis.url } }),
        AuthModule,
        RateLimitModule,
        IdempotencyModule,
        OrgsModule,
        ApiKeysModule,
        EndUsersModule,
        AgentsModule,
        ModelsModule,
        HealthModule,
        // The run worker; API-only processes (PROCESS_ROLE=api) take no jobs.
        ...(config.worker.role !== 'api' ? [RunExecutionModule.forRoot(config)] : []),
      ],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
