import { Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ProblemException } from '../common/problem/problem.exception.js';
import { InjectRedis } from '../redis/redis.module.js';
import type { RateLimitPolicy, RateLimitState } from './rate-limit-policy.js';

/**
 * Fixed-window counter in one round trip: count the hit, arm the window on the first hit (or
 * when a key somehow lost its expiry), and report the time left. Every API process shares it.
 */
const HIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;

type WithHit = Redis & { rateLimitHit(key: string, windowMs: number): Promise<[number, number]> };

@Injectable()
export class RateLimiter {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly redis: WithHit;

  constructor(@InjectRedis() redis: Redis) {
    // defineCommand sends EVALSHA (falling back to EVAL once), so the script costs one round trip.
    if (!('rateLimitHit' in redis)) redis.defineCommand('rateLimitHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
    this.redis = redis as WithHit;
  }

  /** Counts one request of `caller` against `policy`. Redis unreachable → 503, never a 500. */
  async hit(policy: RateLimitPolicy, caller: string): Promise<RateLimitState> {
    let reply: [number, number];
    try {
      reply = await this.redis.rateLimitHit(`rl:${policy.name}:${caller}`, policy.windowSeconds * 1000);
    } catch (err) {
      this.logger.error({ err, msg: 'rate limit check failed' });
      throw new ProblemException('service_unavailable', 'Rate limiting is temporarily unavailable. Please retry shortly.', {
        retryAfter: 1,
      });
    }
    return { policy, count: Number(reply[0]), resetMs: Number(reply[1]) };
  }
}
