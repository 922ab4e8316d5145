import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { BETTER_AUTH } from './auth/auth.tokens.js';
import { betterAuthHandler, type BetterAuth } from './auth/better-auth.js';
import { requestContextMiddleware, runInContext } from './common/context/request-context.js';
import { jsonBodyMiddleware } from './common/http/json-body.middleware.js';
import { writeProblem } from './common/problem/problem-response.js';
import { ProblemException } from './common/problem/problem.exception.js';
import { setupOpenApi } from './common/openapi/openapi.js';
import { APP_CONFIG } from './config/config.module.js';
import type { AppConfig } from './config/app.config.js';

/** One access-log line per response, with the request context the logger mixes in. */
function accessLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const line = { method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, durationMs: Math.round(ms * 10) / 10 };
      // 'finish' may fire outside the request's async context: re-enter it so the line carries its ids.
      runInContext(req.context, () => logger[level](line, 'request'));
    });
    next();
  };
}

/** Served outside the `/api` prefix; anything else there is no route. */
const OUTSIDE_API = /^\/(health|ready)\/?$/;

/**
 * Paths outside `/api` that are not the probes: 404 problem+json like any unknown route (Nest's
 * own not-found handling only covers its prefix; Express would answer an HTML page).
 */
function outsideApiNotFound(req: Request, res: Response, next: NextFunction): void {
  if (req.path === '/api' || req.path.startsWith('/api/') || OUTSIDE_API.test(req.path)) return next();
  writeProblem(req, res, new ProblemException('not_found', 'No route matches this path.'));
}

/**
 * HTTP wiring shared by `main.ts` and the e2e tests, in the order a request meets it:
 * request context → access log → Better Auth (its own body handling) → JSON body → Nest.
 * The app must be created with `bodyParser: false`.
 */
export function configureApp(app: INestApplication, logger: Logger): INestApplication {
  const config = app.get<AppConfig>(APP_CONFIG);
  const auth = app.get<BetterAuth>(BETTER_AUTH);
  const express = (app as NestExpressApplication).getHttpAdapter().getInstance();
  express.disable('x-powered-by');
  // No automatic ETag: hashing every body costs CPU on each answer (the run endpoint's hot
  // path included), and no route documents conditional requests.
  express.set('etag', false);
  app.use(requestContextMiddleware);
  app.use(accessLog(logger));
  app.use(outsideApiNotFound);
  express.all('/api/auth/{*any}', betterAuthHandler(auth));
  app.use(jsonBodyMiddleware(config.http.maxJsonBodyBytes));
  app.setGlobalPrefix('api', { exclude: ['health', 'ready'] });
  setupOpenApi(app);
  app.enableShutdownHooks();
  return app;
}
