import { Controller, Get, HttpCode } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators.js';
import { HealthService, type Readiness } from './health.service.js';

@ApiTags('Operations')
@Public()
@Controller()
export class HealthController {
  constructor(private readonly readiness: HealthService) {}

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
  ready(): Promise<Readiness> {
    return this.readiness.ready();
  }
}
