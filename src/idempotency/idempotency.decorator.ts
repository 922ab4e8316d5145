import { applyDecorators, createParamDecorator, UseGuards, UseInterceptors, type ExecutionContext } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import type { IdempotencyClaim } from './idempotency-claim.js';
import { IdempotencyKeyGuard } from './idempotency-key.guard.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

/**
 * Makes a route idempotent with `Idempotency-Key` (API.md section 5), and documents it.
 * Guards and interceptors run in the order they are declared, so in a composite decorator put
 * it after the rate limit, after the upload interceptor and before `@VersionedResponse(…)`:
 *   applyDecorators(RateLimit('run'), UseInterceptors(Upload), Idempotent(), VersionedResponse('run.created'))
 */
export const Idempotent = () =>
  applyDecorators(
    UseGuards(IdempotencyKeyGuard),
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes the request safe to retry: 1 to 255 visible ASCII characters, scoped to the organization and the caller. ' +
        'A retry with the same key and the same request (method, path with %40 decoded, query, Appstrate-User, body; not Appstrate-Version) ' +
        'replays the first response — status, body and Location — with `Idempotent-Replayed: true`, for 24 hours, refusals included. ' +
        'A 429 or a 5xx releases the key; a request that never finished releases it after the lock timeout.',
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
    }),
    ApiResponse({ status: 400, description: '`invalid_idempotency_key` (and the other 400 refusals).' }),
    ApiResponse({
      status: 409,
      description: '`idempotency_in_progress`: a request with this key is still running; retry after `Retry-After` seconds.',
      headers: { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } } },
    }),
    ApiResponse({ status: 422, description: '`idempotency_conflict`: the key was already used for a different request.' }),
  );

/** The request's claim on its Idempotency-Key (null without a key), for the service that creates the resource. */
export const IdempotencyClaimed = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): IdempotencyClaim | null => ctx.switchToHttp().getRequest<Request>().context.idempotency ?? null,
);
