import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { parseAgentPath } from '../catalog/agent-path.js';

/**
 * Step 3 of the run endpoint: `{scope}` and `{name}` outside their patterns are a 400 naming
 * the parameter. A guard (not a pipe) so that it runs before the rate limit and idempotency.
 */
@Injectable()
export class AgentPathGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const params = context.switchToHttp().getRequest<FastifyRequest>().params as Record<string, string>;
    parseAgentPath(String(params.scope), String(params.name));
    return true;
  }
}
