import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { match } from 'path-to-regexp';
import type pg from 'pg';
import { ProblemException } from '../common/problem/problem.exception.js';
import { writeProblem } from '../common/problem/problem-response.js';
import type { AppConfig } from '../config/app.config.js';

export const SESSION_COOKIE = 'better-auth.session_token';
export const BETTER_AUTH_BASE_PATH = '/api/auth';

/** Better Auth owns users and sessions; it is mounted at `/api/auth/*` by `configureApp`. */
export function createBetterAuth(config: AppConfig, pool: pg.Pool) {
  return betterAuth({
    database: pool,
    secret: config.auth.secret,
    baseURL: config.http.publicUrl,
    basePath: BETTER_AUTH_BASE_PATH,
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

/**
 * Mounts Better Auth for its own endpoints only. Better Auth answers an unknown path under
 * `/api/auth` with an empty 404; passing those on lets them get the API's problem+json 404, and
 * a known endpoint called with the wrong method gets the API's 405 with `Allow`.
 */
export function betterAuthHandler(auth: BetterAuth): RequestHandler {
  const handle = toNodeHandler(auth);
  const endpoints = Object.values(auth.api as Record<string, { path?: string; options?: { method?: string | string[] } }>)
    .filter((endpoint) => typeof endpoint?.path === 'string' && endpoint.options?.method)
    .map((endpoint) => ({
      matches: match(endpoint.path!, { decode: false }),
      methods: ([] as string[]).concat(endpoint.options!.method!).map((m) => m.toUpperCase()),
    }));
  return (req: Request, res: Response, next: NextFunction) => {
    const path = req.path.slice(BETTER_AUTH_BASE_PATH.length) || '/';
    const allowed = new Set(endpoints.filter((e) => e.matches(path)).flatMap((e) => e.methods));
    if (allowed.size === 0) return next();
    if (allowed.has(req.method)) return handle(req, res);
    const allow = [...allowed].sort().join(', ');
    writeProblem(req, res, new ProblemException('method_not_allowed', `${req.method} is not allowed here; use ${allow}.`, { headers: { Allow: allow } }));
  };
}
