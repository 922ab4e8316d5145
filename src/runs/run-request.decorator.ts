import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ApiVersion } from '../api-versions/api-version.js';
import { runSubmissionFrom } from './run-submission.js';
import type { RunCreateRequest } from './runs.service.js';

/**
 * The run request as `RunsService.create` takes it: path, `?version=`, resolved API version,
 * body (JSON, staged multipart, or neither) and the Idempotency-Key claim. Read straight from
 * the request so the service orders its own checks (API.md section 5).
 */
export const RunRequest = createParamDecorator((_: unknown, ctx: ExecutionContext): RunCreateRequest => {
  const req = ctx.switchToHttp().getRequest<FastifyRequest>();
  return {
    scope: String((req.params as Record<string, string>).scope),
    name: String((req.params as Record<string, string>).name),
    version: (req.query as Record<string, unknown>).version,
    apiVersion: req.context.apiVersion as ApiVersion,
    submission: runSubmissionFrom(req),
    idempotency: req.context.idempotency ?? null,
  };
});
