import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { callerKey } from '../auth/principal.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import type { AppConfig } from '../config/app.config.js';
import { InjectConfig } from '../config/config.module.js';
import {
  isOverLimit,
  RATE_LIMIT_POLICIES,
  RATE_LIMIT_POLICY,
  rateLimitHeaders,
  secondsToReset,
  type RateLimitPolicyName,
} from './rate-limit-policy.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * Route guard behind `@RateLimit(name)`; runs after authentication, so it counts per caller
 * (the API key, or the user for sessions). The headers go on the response here, before any
 * later step can refuse, so every answer from this step on carries them.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const name = this.reflector.get<RateLimitPolicyName>(RATE_LIMIT_POLICY, context.getHandler());
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const principal = req.context.principal;
    if (!name || !principal) return true;
    const state = await this.limiter.hit(RATE_LIMIT_POLICIES[name](this.config), callerKey(principal));
    const res = context.switchToHttp().getResponse<FastifyReply>();
    for (const [header, value] of Object.entries(rateLimitHeaders(state))) res.raw.setHeader(header, value);
    if (isOverLimit(state)) {
      throw new ProblemException('rate_limited', 'Too many requests. Please try again shortly.', {
        retryAfter: secondsToReset(state),
      });
    }
    return true;
  }
}
