import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Auth, OrgCaller } from '../auth/auth.decorators.js';
import type { OrgPrincipal } from '../auth/principal.js';
import { ApiListResponse, parsePageRequest, type ListEnvelope } from '../common/http/pagination.js';
import { UuidParam } from '../common/http/uuid-param.pipe.js';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-keys.dto.js';
import { ApiKeysService } from './api-keys.service.js';

@ApiTags('API keys')
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @Auth({ sessionOnly: true, permission: 'api-keys:manage' })
  @ApiOperation({ summary: 'Create an API key', description: 'The plaintext `key` is in this response only.' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  create(@OrgCaller() caller: OrgPrincipal, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.apiKeys.create(caller, dto);
  }

  @Get()
  @Auth({ sessionOnly: true, permission: 'api-keys:manage' })
  @ApiOperation({ summary: 'List the organization’s API keys' })
  @ApiListResponse(ApiKeyDto)
  list(@OrgCaller() caller: OrgPrincipal, @Query() query: Record<string, unknown>): Promise<ListEnvelope<ApiKeyDto>> {
    return this.apiKeys.list(caller.orgId, parsePageRequest(query));
  }

  @Delete(':id')
  @HttpCode(204)
  @Auth({ sessionOnly: true, permission: 'api-keys:manage' })
  @ApiOperation({ summary: 'Revoke an API key', description: 'The key stops working at once.' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Revoked.' })
  async revoke(@OrgCaller() caller: OrgPrincipal, @Param('id', UuidParam) id: string): Promise<void> {
    await this.apiKeys.revoke(caller.orgId, id);
  }
}
