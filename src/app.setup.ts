import { maxHeaderSize, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Logger as NestLogger } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { BETTER_AUTH } from './auth/auth.tokens.js';
import { BETTER_AUTH_BASE_PATH, betterAuthHandler, type BetterAuth } from './auth/better-auth.js';
import { contextOfRaw, registerRequestContext, runInContext } from './common/context/request-context.js';
import { registerBodyParser } from './common/http/json-body.parser.js';
import { newRequestId } from './common/ids.js';
import { setupOpenApi } from './common/openapi/openapi.js';
import { fastifyRefusal } from './common/problem/problem-details.filter.js';
import { rawProblemResponse, writeProblem } from './common/problem/problem-response.js';
import { ProblemException } from './common/problem/problem.exception.js';
import { APP_CONFIG } from './config/config.module.js';
import type { AppConfig } from './config/app.config.js';

/**
 * Longest path parameter the router accepts: any the header size allows, so that the routes
 * refuse theirs themselves (400 naming it, after authentication).
 */
const MAX_PARAM_LENGTH = 65_535;

/**
 * The HTTP adapter: Fastify, for its low cost per request (the run endpoint is the hot path).
 * Trailing slashes are ignored, as clients of the Express-era routes expect.
 */
export function createHttpAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    // Node's own default, which Fastify turns off: a client gets 5 minutes to send its request.
    requestTimeout: 300_000,
    // While closing, requests on open connections are served (Fastify would answer a bare 503).
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // A URL the router cannot decode is refused before any hook runs: answer it as a problem too.
    frameworkErrors: (error: Error, req: FastifyRequest, reply: FastifyReply) => {
      writeProblem(req, reply, fastifyRefusal(error) ?? new ProblemException('invalid_request', 'The request URL is malformed.'));
    },
    clientErrorHandler: answerUnparsableRequest,
  });
}

const httpLogger = new NestLogger('HTTP');

/**
 * What Node's HTTP parser refuses (bytes that are not HTTP/1.1, a request line or header it
 * cannot read, headers over its size limit) never becomes a request: answered here, on the
 * socket, as problem+json (Fastify's default answer is plain JSON), and the connection closed.
 * Not while an earlier request of the connection is still being answered: the bytes would land
 * inside that response, which is let finish instead.
 */
function answerUnparsableRequest(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // Node's server attaches the response in progress to its socket. If its request arrived
  // whole, it gets its answer, then the connection closes (what followed it is dropped). If not
  // (the client went away mid-body), the rest will never come: close now, so it is aborted.
  const answering = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (answering) {
    if (!answering.req.complete) return void socket.destroy(error);
    // Said in its headers while still possible, so that the client sends nothing more on it.
    if (!answering.headersSent) answering.shouldKeepAlive = false;
    answering.once('close', () => socket.destroy());
    return;
  }
  if (socket.writable) {
    const requestId = newRequestId();
    // No access-log line is written for it (there is no request): this one stands in.
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    httpLogger.log({ msg: 'refused a request that is not valid HTTP/1.1', requestId, status: timedOut ? 408 : 400, error: error.code });
    if (timedOut) {
      // The client took longer than the request timeout to send one request. The closed list of
      // problem codes (API.md section 1) has none for 408: an empty body.
      socket.write(`HTTP/1.1 408 Request Timeout\r\nRequest-Id: ${requestId}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    } else {
      const detail =
        error.code === 'HPE_HEADER_OVERFLOW'
          ? `The request headers exceed ${maxHeaderSize} bytes.`
          : 'The request is not valid HTTP/1.1 (its request line or a header could not be read).';
      socket.write(rawProblemResponse(new ProblemException('invalid_request', detail), requestId));
    }
  }
  socket.destroy(error);
}

/**
 * One access-log line per response, with the request context the logger mixes in. It listens
 * on the Node server ahead of Fastify, so that every answer is logged: streamed ones (run
 * events), and those to requests Fastify or Nest turn away before our hooks run.
 */
function registerAccessLog(server: Server, logger: Logger): void {
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const line = { method: req.method, path: (req.url ?? '').split('?')[0], status: res.statusCode, durationMs: Math.round(ms * 10) / 10 };
      const write = () => logger[level](line, 'request');
      // 'finish' may fire outside the request's async context: re-enter it so the line carries its ids.
      const context = contextOfRaw(req);
      if (context) runInContext(context, write);
      else write();
    });
  });
}

/**
 * HTTP wiring shared by `main.ts` and the e2e tests, in the order a request meets it: access
 * log (on the Node server) → the adapter's own hooks → request context → body parser → Better
 * Auth's routes or Nest's. A request the adapter turns away before our hooks (a target it
 * cannot route, a URL that does not decode) gets its context when it is answered. The app must be
 * created with `createHttpAdapter()` and `bodyParser: false`.
 */
export function configureApp(app: NestFastifyApplication, logger: Logger): NestFastifyApplication {
  const config = app.get<AppConfig>(APP_CONFIG);
  const auth = app.get<BetterAuth>(BETTER_AUTH);
  const fastify = app.getHttpAdapter().getInstance();
  // A route keeps the error handler its instance has when the route is set up, which can be
  // Fastify's default (Nest sets its own, the problem filter, during init): every route calls
  // whichever is current instead. First, so that it sees every route.
  fastify.addHook('onRoute', (route) => {
    route.errorHandler ??= (error, req, reply) => fastify.errorHandler(error, req, reply);
  });
  registerRequestContext(fastify);
  registerAccessLog(fastify.server, logger);
  registerBodyParser(fastify, config.http.maxJsonBodyBytes);
  fastify.all(`${BETTER_AUTH_BASE_PATH}/*`, betterAuthHandler(auth));
  app.setGlobalPrefix('api', { exclude: ['health', 'ready'] });
  setupOpenApi(app);
  app.enableShutdownHooks();
  return app;
}
