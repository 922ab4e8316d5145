import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import type pg from 'pg';
import type { AppConfig } from '../config/app.config.js';

export const SESSION_COOKIE = 'better-auth.session_token';

/** Better Auth owns users and sessions; it is mounted at `/api/auth/*` by `configureApp`. */
export function createBetterAuth(config: AppConfig, pool: pg.Pool) {
  return betterAuth({
    database: pool,
    secret: config.auth.secret,
    baseURL: config.http.publicUrl,
    basePath: '/api/auth',
    emailAndPassword: { enabled: true },
    // Keep the documented cookie name on https too; the Secure attribute still follows the URL.
    advanced: {
      useSecureCookies: false,
      defaultCookieAttributes: { secure: config.http.publicUrl.startsWith('https://') },
    },
    telemetry: { enabled: false },
  });
}

export type BetterAuth = ReturnType<typeof createBetterAuth>;

/** Creates or updates Better Auth's own tables; idempotent, run by the migration step. */
export async function migrateBetterAuth(auth: BetterAuth): Promise<void> {
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();
}
