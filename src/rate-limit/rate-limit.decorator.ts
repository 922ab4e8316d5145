import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RATE_LIMIT_POLICY, type RateLimitPolicyName } from './rate-limit-policy.js';

const RATE_LIMIT_HEADERS = {
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
 * global guards and any route guard listed before it) and documents the 429 and its headers.
 */
export const RateLimit = (name: RateLimitPolicyName) =>
  applyDecorators(
    SetMetadata(RATE_LIMIT_POLICY, name),
    UseGuards(RateLimitGuard),
    ApiResponse({
      status: 429,
      description: 'Over the per-caller rate limit (`rate_limited`); `Retry-After` says when to retry.',
      headers: {
        ...RATE_LIMIT_HEADERS,
        'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
      },
    }),
  );

/** The two headers every answer of a rate-limited route carries, for its success responses' docs. */
export const RATE_LIMIT_RESPONSE_HEADERS = RATE_LIMIT_HEADERS;
