import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { readIdempotencyKey } from './idempotency-key.js';

/**
 * Step 5 of the run route: a malformed `Idempotency-Key` is refused right after the rate limit,
 * before any interceptor reads the body (the claim itself waits for the upload's digests).
 */
@Injectable()
export class IdempotencyKeyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    readIdempotencyKey(context.switchToHttp().getRequest<FastifyRequest>());
    return true;
  }
}
