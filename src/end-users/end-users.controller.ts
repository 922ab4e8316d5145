import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Auth, OrgCaller } from '../auth/auth.decorators.js';
import type { OrgPrincipal } from '../auth/principal.js';
import { ApiListResponse, parsePageRequest, type ListEnvelope } from '../common/http/pagination.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { isStorableText } from '../common/validation/unstorable-text.js';
import { CreateEndUserDto, EndUserDto } from './end-users.dto.js';
import { EndUsersService } from './end-users.service.js';
import { ApiProblem } from '../common/openapi/api-problem.decorator.js';

/** `?externalId=` once, 1..255 characters of text; anything else is a 400 naming it. */
function externalIdFilter(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length < 1 || value.length > 255 || !isStorableText(value)) {
    throw new ProblemException('invalid_request', 'externalId must be given once, 1 to 255 characters of text (no NUL).', { param: 'externalId' });
  }
  return value;
}

@ApiTags('End-users')
@Controller('end-users')
export class EndUsersController {
  constructor(private readonly endUsers: EndUsersService) {}

  @Post()
  @Auth({ permission: 'end-users:write' })
  @ApiOperation({ summary: 'Create an end-user', description: '`externalId` is unique in the organization (409 `conflict`).' })
  @ApiCreatedResponse({ type: EndUserDto })
  @ApiProblem(409, 'The externalId is taken in this organization', 'conflict')
  create(@OrgCaller() caller: OrgPrincipal, @Body() dto: CreateEndUserDto): Promise<EndUserDto> {
    return this.endUsers.create(caller.orgId, dto);
  }

  @Get()
  @Auth({ permission: 'end-users:read' })
  @ApiOperation({ summary: 'List end-users', description: 'Newest first, cursor paging; `?externalId=` finds one by your id.' })
  @ApiQuery({ name: 'externalId', required: false, schema: { type: 'string' } })
  @ApiListResponse(EndUserDto)
  list(@OrgCaller() caller: OrgPrincipal, @Query() query: Record<string, unknown>): Promise<ListEnvelope<EndUserDto>> {
    return this.endUsers.list(caller.orgId, parsePageRequest(query), { externalId: externalIdFilter(query.externalId) });
  }

  @Get(':id')
  @Auth({ permission: 'end-users:read' })
  @ApiOperation({ summary: 'Get an end-user' })
  @ApiParam({ name: 'id', schema: { type: 'string', pattern: '^eu_', example: 'eu_0193a0c1-7b2e-7cc1-9a51-3f1e2d4c5b6a' } })
  @ApiOkResponse({ type: EndUserDto })
  get(@OrgCaller() caller: OrgPrincipal, @Param('id') id: string): Promise<EndUserDto> {
    return this.endUsers.get(caller.orgId, id);
  }
}
