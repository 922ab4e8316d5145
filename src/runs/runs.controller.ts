import { applyDecorators, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Auth, OrgCaller } from '../auth/auth.decorators.js';
import type { OrgPrincipal } from '../auth/principal.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiListResponse, type ListEnvelope } from '../common/http/pagination.js';
import { ApiProblem } from '../common/openapi/api-problem.decorator.js';
import { ApiCancelRun, ApiRunEvents, ApiRunLogs, ApiRunWaitQuery } from './run-activity.openapi.js';
import { RunCancelService } from './run-cancel.service.js';
import type { RunLogEntry } from './run-log.presenter.js';
import { RunLogsService } from './run-logs.service.js';
import { RunStreamService } from './run-stream.service.js';
import { RUN_STATUSES } from './run.entity.js';
import type { RunResource } from './run.presenter.js';
import { RunDto } from './runs.dto.js';
import { RunsService } from './runs.service.js';

/** The list filters both run lists take (`GET /api/runs` adds `agent`). */
export const ApiRunListQueries = () =>
  applyDecorators(
  ApiQuery({ name: 'status', required: false, description: `One of ${RUN_STATUSES.join(', ')}, or several comma-separated.`, schema: { type: 'string', example: 'pending,running' } }),
  ApiQuery({ name: 'endUser', required: false, description: 'Only runs created on behalf of this end-user (`eu_…`).', schema: { type: 'string', pattern: '^eu_' } }),
  );

/**
 * Reading runs (API.md section 6). With `Appstrate-User`, only that end-user's runs exist;
 * another organization's run is 404 `run_not_found`. Each handler is one service call.
 */
@ApiTags('Runs')
@Controller('runs')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly cancellation: RunCancelService,
    private readonly stream: RunStreamService,
    private readonly logs: RunLogsService,
  ) {}

  @Get()
  @Auth({ permission: 'runs:read' })
  @ApiOperation({
    summary: 'List runs',
    description:
      'Newest first, cursor paging. A malformed filter or an unknown status → 400 `invalid_request` naming the parameter; a well-formed filter that matches nothing (an agent or end-user that does not exist) → an empty list.',
  })
  @ApiQuery({ name: 'agent', required: false, description: 'Only runs of this agent.', schema: { type: 'string', example: '@acme/triage' } })
  @ApiRunListQueries()
  @ApiListResponse(RunDto)
  list(@OrgCaller() caller: OrgPrincipal, @Query() query: Record<string, unknown>): Promise<ListEnvelope<RunResource>> {
    return this.runs.list(caller, query);
  }

  @Get(':runId')
  @Auth({ permission: 'runs:read' })
  @ApiOperation({ summary: 'Get a run', description: 'The Run, readable as soon as the run endpoint has answered.' })
  @ApiParam({ name: 'runId', schema: { type: 'string', example: 'run_0193b2c4-7a1e-7c3d-9f00-123456789abc' } })
  @ApiRunWaitQuery()
  @ApiOkResponse({ type: RunDto })
  @ApiProblem(404, 'No such run for this caller (another organization’s, or another end-user’s under `Appstrate-User`)', 'run_not_found')
  get(
    @OrgCaller() caller: OrgPrincipal,
    @Param('runId') runId: string,
    @Query('wait') wait: unknown,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<RunResource> {
    return this.stream.get(caller, runId, wait, res.raw);
  }

  @Post(':runId/cancel')
  @HttpCode(200)
  @Auth({ permission: 'runs:cancel' })
  @ApiCancelRun()
  cancel(@OrgCaller() caller: OrgPrincipal, @Param('runId') runId: string): Promise<RunResource> {
    return this.cancellation.cancel(caller, runId);
  }

  @Get(':runId/logs')
  @Auth({ permission: 'runs:read' })
  @ApiRunLogs()
  listLogs(@OrgCaller() caller: OrgPrincipal, @Param('runId') runId: string, @Query() query: Record<string, unknown>): Promise<ListEnvelope<RunLogEntry>> {
    return this.logs.listForCaller(caller, runId, query);
  }

  /** Writes the stream itself (hence `@Res()`); refusals before the first byte still go through the problem filter. */
  @Get(':runId/events')
  @Auth({ permission: 'runs:read' })
  @ApiRunEvents()
  events(@OrgCaller() caller: OrgPrincipal, @Param('runId') runId: string, @Req() req: FastifyRequest, @Res() res: FastifyReply): Promise<void> {
    return this.stream.stream(caller, runId, req, res);
  }
}
