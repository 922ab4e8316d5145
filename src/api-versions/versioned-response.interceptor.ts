import {
  applyDecorators,
  Injectable,
  SetMetadata,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, type Observable } from 'rxjs';
import { transformResponse, type ResponseKind, type VersionedResponse as Shaped } from './version-transforms.js';

/** Metadata key of `@VersionedResponse(kind)` (the idempotency layer shapes what it keeps the same way). */
export const RESPONSE_KIND = 'api-versions:response-kind';

/**
 * A handler result with its status and headers, so that version transforms (and the
 * idempotency store) see the whole response, not just the body.
 */
export class HttpResponse implements Shaped {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

/**
 * Marks a handler whose response older API versions shape differently. The handler returns an
 * `HttpResponse` in the current shape; the interceptor transforms it down to the caller's version.
 */
export const VersionedResponse = (kind: ResponseKind) =>
  applyDecorators(SetMetadata(RESPONSE_KIND, kind), UseInterceptors(VersionedResponseInterceptor));

@Injectable()
export class VersionedResponseInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const kind = this.reflector.get<ResponseKind>(RESPONSE_KIND, context.getHandler());
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const res = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(
      map((result: unknown) => {
        if (!(result instanceof HttpResponse)) return result;
        const shaped = kind && req.context.apiVersion ? transformResponse(kind, result, req.context.apiVersion) : result;
        res.status(shaped.status);
        for (const [name, value] of Object.entries(shaped.headers)) res.header(name, value);
        return shaped.body;
      }),
    );
  }
}
