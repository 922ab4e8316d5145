import { applyDecorators, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IdempotencyKeyGuard } from './idempotency-key.guard.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

/**
 * Makes a route idempotent with `Idempotency-Key` (API.md section 5) and documents the header
 * (the route documents its 400 `invalid_idempotency_key`, 409 and 422 answers with its others).
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
  );
