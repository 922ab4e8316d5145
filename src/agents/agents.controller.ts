import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Auth, OrgCaller } from '../auth/auth.decorators.js';
import type { OrgPrincipal } from '../auth/principal.js';
import type { AgentPath } from '../catalog/agent-path.js';
import { AgentVersionsService, MAX_TAGS_PER_AGENT, MAX_VERSIONS_PER_AGENT } from '../catalog/agent-versions.service.js';
import { AgentsService } from '../catalog/agents.service.js';
import type { AgentView, DistTagView, VersionSummaryView, VersionView } from '../catalog/catalog.views.js';
import { TAG_PATTERN } from '../catalog/version-resolver.js';
import { ApiListResponse, parsePageRequest, type ListEnvelope } from '../common/http/pagination.js';
import { AgentPathParams, ApiAgentPath } from './agent-path.decorator.js';
import {
  AgentDto,
  AgentVersionDto,
  AgentVersionSummaryDto,
  CreateAgentDto,
  DistTagDto,
  PublishVersionDto,
  SetDistTagDto,
  UpdateAgentDto,
} from './agents.dto.js';
import { ApiProblem } from '../common/openapi/api-problem.decorator.js';
import type { HttpResponse } from '../api-versions/versioned-response.interceptor.js';
import { AgentPathGuard } from '../runs/agent-path.guard.js';
import { RunEndpoint } from '../runs/run-endpoint.decorator.js';
import { RunRequest } from '../runs/run-request.decorator.js';
import type { RunResource } from '../runs/run.presenter.js';
import { ApiRunListQueries } from '../runs/runs.controller.js';
import { RunDto } from '../runs/runs.dto.js';
import { RunsService, type RunCreateRequest } from '../runs/runs.service.js';

const ApiVersionParam = () =>
  ApiParam({ name: 'version', description: 'An exact published version.', schema: { type: 'string', example: '1.2.0' } });
const ApiTagParam = () =>
  ApiParam({ name: 'tag', description: 'A dist-tag name; it must not itself be a version.', schema: { type: 'string', pattern: TAG_PATTERN.source, example: 'beta' } });
const ApiAgentNotFound = () => ApiProblem(404, 'No such agent in the caller’s organization (another organization’s agent is 404 too, never 403)', 'agent_not_found');
const ApiInvalidPath = () => ApiProblem(400, 'A path parameter outside its pattern (`param` names it), or an invalid body', 'invalid_request', 'validation_failed');

/**
 * The catalogue over HTTP: agents `@scope/name`, their live working copy, published versions
 * and dist-tags (API.md section 3). Each handler is one call into the catalogue.
 */
@ApiTags('Agents')
@Controller('agents')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly versions: AgentVersionsService,
    private readonly runs: RunsService,
  ) {}

  @Post()
  @Auth({ permission: 'agents:write' })
  @ApiOperation({ summary: 'Create an agent', description: 'Creates `@scope/name` with its live manifest and prompt. The same scope and name again → 409 `conflict`.' })
  @ApiCreatedResponse({ type: AgentDto })
  @ApiProblem(400, 'Invalid body or manifest; `errors[]` points at each problem', 'validation_failed')
  @ApiProblem(409, 'An agent with this scope and name already exists', 'conflict')
  create(@OrgCaller() caller: OrgPrincipal, @Body() dto: CreateAgentDto): Promise<AgentView> {
    return this.agents.create(caller, dto);
  }

  @Get()
  @Auth({ permission: 'agents:read' })
  @ApiOperation({ summary: 'List agents', description: 'Newest first, cursor paging.' })
  @ApiListResponse(AgentDto)
  list(@OrgCaller() caller: OrgPrincipal, @Query() query: Record<string, unknown>): Promise<ListEnvelope<AgentView>> {
    return this.agents.list(caller.orgId, parsePageRequest(query));
  }

  @Get(':scope/:name')
  @Auth({ permission: 'agents:read' })
  @ApiAgentPath()
  @ApiOperation({ summary: 'Get an agent', description: 'The live manifest and prompt, and the dist-tags.' })
  @ApiOkResponse({ type: AgentDto })
  @ApiInvalidPath()
  @ApiAgentNotFound()
  get(@OrgCaller() caller: OrgPrincipal, @AgentPathParams() path: AgentPath): Promise<AgentView> {
    return this.agents.get(caller.orgId, path);
  }

  @Put(':scope/:name')
  @Auth({ permission: 'agents:write' })
  @ApiAgentPath()
  @ApiOperation({ summary: 'Update the live agent', description: 'Replaces the live manifest and/or prompt. Published versions never change.' })
  @ApiOkResponse({ type: AgentDto })
  @ApiInvalidPath()
  @ApiAgentNotFound()
  update(@OrgCaller() caller: OrgPrincipal, @AgentPathParams() path: AgentPath, @Body() dto: UpdateAgentDto): Promise<AgentView> {
    return this.agents.update(caller.orgId, path, dto);
  }

  @Post(':scope/:name/versions')
  @Auth({ permission: 'agents:write' })
  @ApiAgentPath()
  @ApiOperation({
    summary: 'Publish a version',
    description:
      `Snapshots the given manifest and prompt (default: the live ones) as an immutable version. The version must be valid semver (400 \`validation_failed\`) and greater than every version published so far, yanked ones included (409 \`conflict\`); an agent has at most ${MAX_VERSIONS_PER_AGENT} versions (409 \`conflict\` beyond). A non-prerelease version moves \`latest\` to itself; prereleases never move it.`,
  })
  @ApiCreatedResponse({ type: AgentVersionDto })
  @ApiInvalidPath()
  @ApiAgentNotFound()
  @ApiProblem(409, `The version is not greater than every published version, or the agent already has ${MAX_VERSIONS_PER_AGENT} versions`, 'conflict')
  publish(@OrgCaller() caller: OrgPrincipal, @AgentPathParams() path: AgentPath, @Body() dto: PublishVersionDto): Promise<VersionView> {
    return this.versions.publish(caller, path, dto);
  }

  @Get(':scope/:name/versions')
  @Auth({ permission: 'agents:read' })
  @ApiAgentPath()
  @ApiOperation({ summary: 'List versions', description: 'Newest (highest) first, yanked ones included, each with the dist-tags pointing at it. Cursor paging.' })
  @ApiListResponse(AgentVersionSummaryDto, 'A page of versions, highest first.')
  @ApiInvalidPath()
  @ApiAgentNotFound()
  listVersions(
    @OrgCaller() caller: OrgPrincipal,
    @AgentPathParams() path: AgentPath,
    @Query() query: Record<string, unknown>,
  ): Promise<ListEnvelope<VersionSummaryView>> {
    return this.versions.list(caller.orgId, path, parsePageRequest(query));
  }

  @Get(':scope/:name/versions/:version')
  @Auth({ permission: 'agents:read' })
  @ApiAgentPath()
  @ApiVersionParam()
  @ApiOperation({ summary: 'Get a version', description: 'One published version with its manifest and prompt (yanked ones included).' })
  @ApiOkResponse({ type: AgentVersionDto })
  @ApiInvalidPath()
  @ApiProblem(404, 'No such agent, or no such version', 'agent_not_found', 'agent_version_not_found')
  getVersion(@OrgCaller() caller: OrgPrincipal, @AgentPathParams() path: AgentPath, @Param('version') version: string): Promise<VersionView> {
    return this.versions.get(caller.orgId, path, version);
  }

  @Post(':scope/:name/versions/:version/yank')
  @HttpCode(200)
  @Auth({ permission: 'agents:write' })
  @ApiAgentPath()
  @ApiVersionParam()
  @ApiOperation({
    summary: 'Yank a version',
    description:
      'Ranges and dist-tags skip a yanked version; an exact pin still runs it. Dist-tags on it stop resolving, and if `latest` pointed at it, `latest` moves to the highest remaining non-yanked stable version (or disappears). Yanking again changes nothing. Answers the version.',
  })
  @ApiOkResponse({ type: AgentVersionDto })
  @ApiInvalidPath()
  @ApiProblem(404, 'No such agent, or no such version', 'agent_not_found', 'agent_version_not_found')
  yank(@OrgCaller() caller: OrgPrincipal, @AgentPathParams() path: AgentPath, @Param('version') version: string): Promise<VersionView> {
    return this.versions.yank(caller.orgId, path, version);
  }

  @Put(':scope/:name/dist-tags/:tag')
  @Auth({ permission: 'agents:write' })
  @ApiAgentPath()
  @ApiTagParam()
  @ApiOperation({ summary: 'Set a dist-tag', description: `Creates or moves the tag; answers 200 either way. An unknown or yanked version → 409 \`conflict\`; an agent has at most ${MAX_TAGS_PER_AGENT} dist-tags besides \`latest\` (a new one beyond → 409 \`conflict\`).` })
  @ApiOkResponse({ type: DistTagDto })
  @ApiInvalidPath()
  @ApiAgentNotFound()
  @ApiProblem(409, `The version is not published, or is yanked, or the agent already has ${MAX_TAGS_PER_AGENT} dist-tags besides latest`, 'conflict')
  setTag(
    @OrgCaller() caller: OrgPrincipal,
    @AgentPathParams() path: AgentPath,
    @Param('tag') tag: string,
    @Body() dto: SetDistTagDto,
  ): Promise<DistTagView> {
    return this.versions.setTag(caller.orgId, path, tag, dto.version);
  }

  @Delete(':scope/:name/dist-tags/:tag')
  @HttpCode(204)
  @Auth({ permission: 'agents:write' })
  @ApiAgentPath()
  @ApiTagParam()
  @ApiOperation({ summary: 'Delete a dist-tag', description: '`latest` cannot be deleted (409 `conflict`); it follows the highest stable version.' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiInvalidPath()
  @ApiProblem(404, 'No such agent, or no such tag', 'agent_not_found', 'not_found')
  @ApiProblem(409, '`latest` cannot be deleted', 'conflict')
  async deleteTag(@OrgCaller() caller: OrgPrincipal, @AgentPathParams() path: AgentPath, @Param('tag') tag: string): Promise<void> {
    await this.versions.deleteTag(caller.orgId, path, tag);
  }

  /** Execute an agent (API.md section 5): every check and the OpenAPI description live in `@RunEndpoint()`. */
  @Post(':scope/:name/run')
  @RunEndpoint()
  @ApiAgentPath()
  run(@OrgCaller() caller: OrgPrincipal, @RunRequest() request: RunCreateRequest): Promise<HttpResponse> {
    return this.runs.create(caller, request);
  }

  @Get(':scope/:name/runs')
  @Auth({ permission: 'runs:read' })
  @UseGuards(AgentPathGuard)
  @ApiAgentPath()
  @ApiOperation({ summary: 'List an agent’s runs', description: 'As `GET /api/runs`, for this agent: newest first, cursor paging, filters `status` and `endUser`.' })
  @ApiRunListQueries()
  @ApiListResponse(RunDto)
  @ApiInvalidPath()
  @ApiAgentNotFound()
  listRuns(@OrgCaller() caller: OrgPrincipal, @AgentPathParams() path: AgentPath, @Query() query: Record<string, unknown>): Promise<ListEnvelope<RunResource>> {
    return this.runs.listForAgent(caller, path, query);
  }
}
