import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import pg from 'pg';
import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { ApiVersionGuard } from '../api-versions/api-version.guard.js';
import { BodyGuard } from '../common/http/body.guard.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app.config.js';
import { EndUsersModule } from '../end-users/end-users.module.js';
import { OrgsModule } from '../orgs/orgs.module.js';
import { AuthGuard } from './auth.guard.js';
import { BETTER_AUTH } from './auth.tokens.js';
import { PermissionGuard } from './permission.guard.js';
import { createBetterAuth } from './better-auth.js';

const BETTER_AUTH_POOL = Symbol('BETTER_AUTH_POOL');
const logger = new Logger('BetterAuth');

/**
 * Better Auth (users, sessions) and the global guards, in the order every request meets them:
 * authentication → API version → permission → body checks. Route guards (rate limits…) run after these.
 */
@Module({
  imports: [ApiKeysModule, OrgsModule, EndUsersModule],
  providers: [
    {
      provide: BETTER_AUTH_POOL,
      inject: [APP_CONFIG],
      useFactory: (c: AppConfig) => {
        const pool = new pg.Pool({ connectionString: c.database.url, max: 5 });
        // An idle client dropped by the server (restart, failover) must not crash the process:
        // pg emits 'error' on the pool, which throws when nobody listens. The next query reconnects.
        pool.on('error', (err) => logger.warn({ err, msg: 'Better Auth database connection lost' }));
        return pool;
      },
    },
    {
      provide: BETTER_AUTH,
      inject: [APP_CONFIG, BETTER_AUTH_POOL],
      useFactory: (c: AppConfig, pool: pg.Pool) => createBetterAuth(c, pool),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: ApiVersionGuard },
    { provide: APP_GUARD, useClass: PermissionGuard },
    { provide: APP_GUARD, useClass: BodyGuard },
  ],
  exports: [BETTER_AUTH],
})
export class AuthModule implements OnApplicationShutdown {
  constructor(@Inject(BETTER_AUTH_POOL) private readonly pool: pg.Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
