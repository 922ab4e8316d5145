import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { ProblemException } from '../common/problem/problem.exception.js';
import { withTimeout } from '../common/timeout.js';
import { InjectRedis } from '../redis/redis.module.js';

const PROBE_TIMEOUT_MS = 1500;

export interface Readiness {
  status: 'ok';
  checks: { postgres: 'up'; redis: 'up' };
}

/** The readiness check, for the API's `/ready` and a worker's probe server alike. */
@Injectable()
export class HealthService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectRedis() private readonly redis: Redis,
  ) {}

  /** Both dependencies answer within the probe timeout, or 503 naming the ones that do not. */
  async ready(): Promise<Readiness> {
    const [postgres, redis] = await Promise.all([
      withTimeout(this.db.query('SELECT 1'), PROBE_TIMEOUT_MS).then(() => 'up' as const, () => 'down' as const),
      withTimeout(this.redis.ping(), PROBE_TIMEOUT_MS).then(() => 'up' as const, () => 'down' as const),
    ]);
    if (postgres === 'down' || redis === 'down') {
      const down = [postgres === 'down' && 'PostgreSQL', redis === 'down' && 'Redis'].filter(Boolean).join(' and ');
      throw new ProblemException('service_unavailable', `${down} unreachable.`, { retryAfter: 5 });
    }
    return { status: 'ok', checks: { postgres, redis } };
  }
}
