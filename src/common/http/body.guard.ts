import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ProblemException } from '../problem/problem.exception.js';
import { hasBody, isJsonContentType } from './json-body.parser.js';

const OWN_BODY_CHECKS = 'http:own-body-checks';

/**
 * For a handler that accepts more than JSON or must refuse a bad body at a documented later
 * step (the run route: after rate limit and idempotency). It then reads `req.bodyError` itself.
 */
export const OwnBodyChecks = () => SetMetadata(OWN_BODY_CHECKS, true);

/** Refuses, after authentication, a body that is not JSON (415) or does not parse (400). */
@Injectable()
export class BodyGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.get<boolean>(OWN_BODY_CHECKS, context.getHandler())) return true;
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    // Fastify never reads a GET or HEAD body: it is ignored, whatever its type.
    if (req.method === 'GET' || req.method === 'HEAD') return true;
    if (hasBody(req) && !isJsonContentType(req.headers['content-type'])) {
      throw new ProblemException('unsupported_media_type', 'Send the request body as application/json.', {
        param: 'Content-Type',
      });
    }
    if (req.bodyError) throw req.bodyError;
    return true;
  }
}
