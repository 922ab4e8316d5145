import { Body, Controller, Get, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, CurrentPrincipal, OrgCaller } from '../auth/auth.decorators.js';
import type { OrgPrincipal, Principal } from '../auth/principal.js';
import { ApiListResponse, parsePageRequest, type ListEnvelope } from '../common/http/pagination.js';
import { ApiOrgIdParam, CreateOrgDto, OrgDto, UpdateOrgDto } from './orgs.dto.js';
import { OrgsService } from './orgs.service.js';
import { ApiProblem } from '../common/openapi/api-problem.decorator.js';

@ApiTags('Organizations')
@Controller('orgs')
export class OrgsController {
  constructor(private readonly orgs: OrgsService) {}

  @Post()
  @Auth({ org: 'none', sessionOnly: true })
  @ApiOperation({ summary: 'Create an organization', description: 'The caller becomes its owner; its API version is pinned to the platform default.' })
  @ApiCreatedResponse({ type: OrgDto })
  @ApiProblem(409, 'The slug is taken', 'conflict')
  create(@CurrentPrincipal() caller: Principal, @Body() dto: CreateOrgDto): Promise<OrgDto> {
    return this.orgs.create(caller.userId, dto);
  }

  @Get()
  @Auth({ org: 'none', sessionOnly: true })
  @ApiOperation({ summary: 'List the caller’s organizations' })
  @ApiListResponse(OrgDto)
  list(@CurrentPrincipal() caller: Principal, @Query() query: Record<string, unknown>): Promise<ListEnvelope<OrgDto>> {
    return this.orgs.listForUser(caller.userId, parsePageRequest(query));
  }

  @Patch(':orgId')
  @Auth({ org: 'path', sessionOnly: true, permission: 'org:manage' })
  @ApiOperation({ summary: 'Rename an organization or change its pinned API version' })
  @ApiOrgIdParam()
  @ApiOkResponse({ type: OrgDto })
  update(@OrgCaller() caller: OrgPrincipal, @Body() dto: UpdateOrgDto): Promise<OrgDto> {
    return this.orgs.update(caller.orgId, caller.role, dto);
  }
}
