import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { fromNodeHeaders } from 'better-auth/node';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { match } from 'path-to-regexp';
import type pg from 'pg';
import { ProblemException } from '../common/problem/problem.exception.js';
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
 * Serves Better Auth's own endpoints (the route `/api/auth/*` of `configureApp`). Better Auth
 * answers an unknown path under `/api/auth` with an empty 404; those get the API's
 * problem+json 404 instead, and a known endpoint called with the wrong method the API's 405
 * with `Allow`. The body is handed over as the bytes received (the app's parser keeps them).
 */
export function betterAuthHandler(auth: BetterAuth): (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  const endpoints = Object.values(auth.api as Record<string, { path?: string; options?: { method?: string | string[] } }>)
    .filter((endpoint) => typeof endpoint?.path === 'string' && endpoint.options?.method)
    .map((endpoint) => ({
      matches: match(endpoint.path!, { decode: false }),
      methods: ([] as string[]).concat(endpoint.options!.method!).map((m) => m.toUpperCase()),
    }));
  const origin = new URL(auth.options.baseURL as string).origin;
  return async (req, reply) => {
    // Parsed as Better Auth will see it: an absolute-form target keeps only its path, and dot
    // segments (`%2e%2e`) are resolved before the endpoint is looked up.
    const target = new URL(req.url, origin);
    const url = new URL(`${target.pathname}${target.search}`, origin);
    const path = url.pathname.slice(BETTER_AUTH_BASE_PATH.length) || '/';
    const allowed = new Set(endpoints.filter((e) => e.matches(path)).flatMap((e) => e.methods));
    if (allowed.size === 0) throw new ProblemException('not_found', 'No route matches this path.');
    if (!allowed.has(req.method)) {
      const allow = [...allowed].sort().join(', ');
      throw new ProblemException('method_not_allowed', `${req.method} is not allowed here; use ${allow}.`, { headers: { Allow: allow } });
    }
    const response = await auth.handler(
      new Request(url, {
        method: req.method,
        headers: fromNodeHeaders(req.headers),
        body: req.method === 'GET' || req.method === 'HEAD' || !req.rawBody?.length ? undefined : new Uint8Array(req.rawBody),
      }),
    );
    reply.status(response.status);
    response.headers.forEach((value, name) => {
      if (name !== 'set-cookie') reply.header(name, value);
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) reply.header('set-cookie', cookies);
    return reply.send(Buffer.from(await response.arrayBuffer()));
  };
}
