import { describe, expect, it } from 'vitest';
import { isOverLimit, rateLimitHeaders, secondsToReset, type RateLimitState } from './rate-limit-policy.js';

const state = (count: number, resetMs: number): RateLimitState => ({
  policy: { name: 'run', limit: 20, windowSeconds: 60 },
  count,
  resetMs,
});

describe('rate limit headers', () => {
  it('formats the IETF draft headers', () => {
    expect(rateLimitHeaders(state(1, 60_000))).toEqual({ 'RateLimit-Policy': '"run";q=20;w=60', RateLimit: '"run";r=19;t=60' });
    expect(rateLimitHeaders(state(20, 1_200))).toEqual({ 'RateLimit-Policy': '"run";q=20;w=60', RateLimit: '"run";r=0;t=2' });
  });

  it('never reports negative remaining, and waits at least one second', () => {
    expect(rateLimitHeaders(state(25, 10)).RateLimit).toBe('"run";r=0;t=1');
    expect(secondsToReset(state(25, 0))).toBe(1);
  });

  it('refuses only beyond the limit', () => {
    expect(isOverLimit(state(20, 1000))).toBe(false);
    expect(isOverLimit(state(21, 1000))).toBe(true);
  });
});
