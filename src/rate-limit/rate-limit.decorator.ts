import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RATE_LIMIT_POLICY, type RateLimitPolicyName } from './rate-limit-policy.js';

/** The two headers every answer of a rate-limited route carries, for its responses' OpenAPI docs. */
export const RATE_LIMIT_RESPONSE_HEADERS = {
  'RateLimit-Policy': {
    description: 'The budget: `"run";q=<requests>;w=<window seconds>` (IETF draft RateLimit headers).',
    schema: { type: 'string', example: '"run";q=20;w=60' },
  },
  RateLimit: {
    description: 'What is left: `"run";r=<remaining>;t=<seconds until the window resets>`.',
    schema: { type: 'string', example: '"run";r=19;t=60' },
  },
} as const;

/**
 * Counts the route against the named per-caller budget (`RateLimitGuard`, which runs after the
 * global guards and any route guard listed before it). The route documents its 429 and puts
 * `RATE_LIMIT_RESPONSE_HEADERS` on its responses.
 */
export const RateLimit = (name: RateLimitPolicyName) => applyDecorators(SetMetadata(RATE_LIMIT_POLICY, name), UseGuards(RateLimitGuard));
