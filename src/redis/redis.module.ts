import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app.config.js';

export const REDIS = Symbol('REDIS');
export const InjectRedis = () => Inject(REDIS);

/**
 * Options for every connection this process opens. Commands fail fast while Redis is away
 * (no unbounded offline queue), so a request answers 503 instead of hanging.
 */
export function redisOptions(extra: RedisOptions = {}): RedisOptions {
  return { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 2000, ...extra };
}

const logger = new Logger('Redis');

/**
 * A connection that reports outages as log lines (ioredis would otherwise print raw
 * "Unhandled error event" traces); commands still fail and callers answer 503.
 */
export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  const redis = new Redis(url, redisOptions(extra));
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger.error({ msg: 'Redis connection error', error: err.message });
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.log('Redis connection restored');
    down = false;
  });
  return redis;
}

/**
 * The shared command connection (rate limits, idempotency locks, run events publish). Auto-
 * pipelining sends the commands that concurrent requests issue in the same tick as one write:
 * fewer socket writes and Redis wake-ups per request under load (≈ +15 % run throughput in
 * `bench/RESULTS.md`). It never carries blocking or subscribe commands.
 */
@Global()
@Module({
  providers: [{ provide: REDIS, inject: [APP_CONFIG], useFactory: (c: AppConfig) => createRedis(c.redis.url, { enableAutoPipelining: true }) }],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
