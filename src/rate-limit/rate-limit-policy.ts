import type { AppConfig } from '../config/app.config.js';

/** Metadata key set by `@RateLimit(name)`. */
export const RATE_LIMIT_POLICY = 'rate-limit:policy';

/** A named budget: `limit` requests per `windowSeconds`, counted per caller. */
export interface RateLimitPolicy {
  name: string;
  limit: number;
  windowSeconds: number;
}

/** The policies routes can name with `@RateLimit(name)`; limits come from configuration. */
export const RATE_LIMIT_POLICIES = {
  run: (config: AppConfig): RateLimitPolicy => ({ name: 'run', limit: config.runs.rateLimitPerMinute, windowSeconds: 60 }),
} as const satisfies Record<string, (config: AppConfig) => RateLimitPolicy>;

export type RateLimitPolicyName = keyof typeof RATE_LIMIT_POLICIES;

/** The outcome of one counted request in a fixed window. */
export interface RateLimitState {
  policy: RateLimitPolicy;
  /** Requests counted in the current window, this one included. */
  count: number;
  /** Milliseconds until the window (and the count) resets. */
  resetMs: number;
}

export const isOverLimit = (state: RateLimitState): boolean => state.count > state.policy.limit;

/** Whole seconds until the reset, never 0 while refusing (a client must wait at least a second). */
export const secondsToReset = (state: RateLimitState): number => Math.max(1, Math.ceil(state.resetMs / 1000));

/**
 * The IETF draft headers (draft-ietf-httpapi-ratelimit-headers, structured-field form):
 * `RateLimit-Policy: "run";q=20;w=60` and `RateLimit: "run";r=<remaining>;t=<seconds to reset>`.
 */
export function rateLimitHeaders(state: RateLimitState): Record<'RateLimit-Policy' | 'RateLimit', string> {
  const { name, limit, windowSeconds } = state.policy;
  const remaining = Math.max(0, limit - state.count);
  return {
    'RateLimit-Policy': `"${name}";q=${limit};w=${windowSeconds}`,
    RateLimit: `"${name}";r=${remaining};t=${secondsToReset(state)}`,
  };
}
