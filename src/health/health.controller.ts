import { Controller, Get, HttpCode } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { withTimeout } from '../common/timeout.js';
import { InjectRedis } from '../redis/redis.module.js';

const PROBE_TIMEOUT_MS = 1500;


@ApiTags('Operations')
@Public()
@Controller()
export class HealthController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectRedis() private readonly redis: Redis,
  ) {}

  @Get('health')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness', description: 'Answers 200 while the process runs; checks no dependency.' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  health() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness', description: '200 when PostgreSQL and Redis both answer, else 503.' })
  @ApiOkResponse({ schema: { example: { status: 'ok', checks: { postgres: 'up', redis: 'up' } } } })
  @ApiServiceUnavailableResponse({ description: 'PostgreSQL or Redis is unreachable (problem+json naming which).' })
  async ready() {
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
