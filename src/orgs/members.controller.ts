import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Auth, OrgCaller } from '../auth/auth.decorators.js';
import type { OrgPrincipal } from '../auth/principal.js';
import { ApiListResponse, parsePageRequest, type ListEnvelope } from '../common/http/pagination.js';
import { AddMemberDto, MemberDto, UpdateMemberDto } from './members.dto.js';
import { ApiOrgIdParam } from './orgs.dto.js';
import { MembersService } from './members.service.js';
import { ApiProblem } from '../common/openapi/api-problem.decorator.js';

const USER_PARAM = ApiParam({ name: 'userId', description: 'The member’s user id.' });

@ApiTags('Organizations')
@Controller('orgs/:orgId/members')
export class MembersController {
  constructor(private readonly members: MembersService) {}

  @Get()
  @Auth({ org: 'path', sessionOnly: true })
  @ApiOrgIdParam()
  @ApiOperation({ summary: 'List the organization’s members', description: 'Any member may list them; newest first, cursor paging.' })
  @ApiListResponse(MemberDto)
  list(@OrgCaller() caller: OrgPrincipal, @Query() query: Record<string, unknown>): Promise<ListEnvelope<MemberDto>> {
    return this.members.list(caller.orgId, parsePageRequest(query));
  }

  @Post()
  @Auth({ org: 'path', sessionOnly: true, permission: 'members:manage' })
  @ApiOrgIdParam()
  @ApiOperation({
    summary: 'Add an existing user to the organization',
    description: 'Unknown email → 404 `not_found`; already a member → 409 `conflict`; granting `owner` needs an owner (403).',
  })
  @ApiCreatedResponse({ type: MemberDto })
  @ApiProblem(409, 'Already a member', 'conflict')
  add(@OrgCaller() caller: OrgPrincipal, @Body() dto: AddMemberDto): Promise<MemberDto> {
    return this.members.add(caller, dto);
  }

  @Patch(':userId')
  @Auth({ org: 'path', sessionOnly: true, permission: 'members:manage' })
  @ApiOrgIdParam()
  @USER_PARAM
  @ApiOperation({
    summary: 'Change a member’s role',
    description: 'Only an owner may grant, change or remove `owner` (403, checked first); the last owner cannot be demoted (409 `conflict`).',
  })
  @ApiOkResponse({ type: MemberDto })
  @ApiProblem(409, 'The last owner cannot be demoted', 'conflict')
  update(@OrgCaller() caller: OrgPrincipal, @Param('userId') userId: string, @Body() dto: UpdateMemberDto): Promise<MemberDto> {
    return this.members.changeRole(caller, userId, dto.role);
  }

  @Delete(':userId')
  @HttpCode(204)
  @Auth({ org: 'path', sessionOnly: true, permission: 'members:manage' })
  @ApiOrgIdParam()
  @USER_PARAM
  @ApiOperation({
    summary: 'Remove a member',
    description: 'Only an owner may remove an owner (403, checked first); the last owner cannot be removed (409 `conflict`). The API keys the member created in this organization are revoked at once (adding the member back does not revive them).',
  })
  @ApiNoContentResponse({ description: 'Removed.' })
  @ApiProblem(409, 'The last owner cannot be removed', 'conflict')
  async remove(@OrgCaller() caller: OrgPrincipal, @Param('userId') userId: string): Promise<void> {
    await this.members.remove(caller, userId);
  }
}
