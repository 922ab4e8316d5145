import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { allowedMethods } from '../http/route-table.js';
import type { ProblemCode } from './problem-codes.js';
import { ProblemException } from './problem.exception.js';
import { writeProblem } from './problem-response.js';

const STATUS_CODES: Record<number, ProblemCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'service_unavailable',
};

/** Errors that mean a backing service (PostgreSQL, Redis) is unreachable, not that the request is wrong. */
function isUnavailable(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string };
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03', '53300'].includes(e?.code ?? '') ||
    e?.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|Connection terminated/i.test(e?.message ?? '')
  );
}

/**
 * Fastify's own refusal of a request it could not route or parse (`FST_*` with a 4xx status),
 * as a problem; its message is meant for the client. Null for anything else.
 */
export function fastifyRefusal(error: unknown): ProblemException | null {
  const { code, statusCode, message } = (error ?? {}) as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_') || typeof statusCode !== 'number' || statusCode >= 500) return null;
  return new ProblemException(STATUS_CODES[statusCode] ?? 'invalid_request', typeof message === 'string' ? message : 'The request is malformed.');
}

/**
 * The single place where exceptions become HTTP answers: RFC 9457 problem+json for every
 * route (Better Auth's own answers aside). Unexpected errors are logged with the request id and answered
 * 500 `internal_error` without internals.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    const res = host.switchToHttp().getResponse<FastifyReply>();
    writeProblem(req, res, this.toProblem(exception, req));
  }

  private toProblem(exception: unknown, req: FastifyRequest): ProblemException {
    if (exception instanceof ProblemException) return exception;
    if (exception instanceof HttpException) return this.fromHttpException(exception, req);
    const sqlState = (exception as { code?: unknown })?.code;
    if (sqlState === '23505') {
      return new ProblemException('conflict', 'The resource conflicts with one that already exists.');
    }
    // PostgreSQL data exceptions (class 22: a value it cannot parse or store, e.g. a NUL byte or
    // an out-of-range number) come from what the client sent; validation should have caught it.
    if (typeof sqlState === 'string' && sqlState.startsWith('22') && exception instanceof Error) {
      this.logger.warn({ err: exception, msg: 'a value reached PostgreSQL unvalidated' });
      return new ProblemException('invalid_request', 'A value in the request cannot be stored.');
    }
    const refusal = fastifyRefusal(exception);
    if (refusal) return refusal;
    if (isUnavailable(exception)) {
      this.logger.error({ err: exception, msg: 'backing service unavailable' });
      return new ProblemException('service_unavailable', 'A backing service is temporarily unavailable. Please retry shortly.', {
        retryAfter: 1,
      });
    }
    this.logger.error(exception instanceof Error ? exception : { err: exception, msg: 'non-error thrown' });
    return new ProblemException('internal_error', 'An unexpected error occurred. Quote the request id when reporting it.');
  }

  private fromHttpException(exception: HttpException, req: FastifyRequest): ProblemException {
    const status = exception.getStatus();
    if (status === 404 && /^Cannot [A-Z]+ /.test(exception.message)) return this.unmatchedRoute(req);
    const code = STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'invalid_request');
    if (code === 'internal_error') {
      this.logger.error(exception);
      return new ProblemException(code, 'An unexpected error occurred. Quote the request id when reporting it.');
    }
    const response = exception.getResponse();
    const message = typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : response;
    const detail = typeof message === 'string' && message ? message : exception.message;
    return new ProblemException(code, detail);
  }

  /** Nest's router found nothing: 405 when the path exists under other methods, else 404. */
  private unmatchedRoute(req: FastifyRequest): ProblemException {
    const allowed = allowedMethods(this.adapterHost.httpAdapter.getInstance(), req.url.split('?')[0]);
    // A route of this very method that answered not-found itself (a static asset) stays 404.
    if (allowed.length > 0 && !allowed.includes(req.method)) {
      return new ProblemException('method_not_allowed', `${req.method} is not allowed here; use ${allowed.join(', ')}.`, {
        headers: { Allow: allowed.join(', ') },
      });
    }
    return new ProblemException('not_found', 'No route matches this path.');
  }
}
