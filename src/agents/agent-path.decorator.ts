import { applyDecorators, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { MAX_NAME_LENGTH, MAX_SCOPE_LENGTH, NAME_PATTERN, parseAgentPath, SCOPE_PATTERN, type AgentPath } from '../catalog/agent-path.js';

/** The validated `{scope}/{name}` of the route (400 `invalid_request` naming the bad one). */
export const AgentPathParams = createParamDecorator((_: unknown, ctx: ExecutionContext): AgentPath => {
  const params = ctx.switchToHttp().getRequest<FastifyRequest>().params as Record<string, string>;
  return parseAgentPath(String(params.scope), String(params.name));
});

/** Documents the `{scope}` and `{name}` path parameters. */
export const ApiAgentPath = () =>
  applyDecorators(
    ApiParam({
      name: 'scope',
      description: 'The agent’s scope, with its `@` (which may be sent percent-encoded as `%40`).',
      schema: { type: 'string', pattern: SCOPE_PATTERN.source, maxLength: MAX_SCOPE_LENGTH, example: '@acme' },
    }),
    ApiParam({ name: 'name', schema: { type: 'string', pattern: NAME_PATTERN.source, maxLength: MAX_NAME_LENGTH, example: 'triage' } }),
  );
