import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Auth, OrgCaller } from '../auth/auth.decorators.js';
import type { OrgPrincipal } from '../auth/principal.js';
import { ApiListResponse, parsePageRequest, type ListEnvelope } from '../common/http/pagination.js';
import { UuidParam } from '../common/http/uuid-param.pipe.js';
import { CreateModelDto, ModelDto } from './models.dto.js';
import { ModelsService } from './models.service.js';
import { ApiProblem } from '../common/openapi/api-problem.decorator.js';

@ApiTags('Models')
@Controller('models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Post()
  @Auth({ permission: 'models:write' })
  @ApiOperation({
    summary: 'Add a model (an OpenAI-compatible chat-completions endpoint)',
    description:
      '`name` is unique in the organization (409 `conflict`). The API key is stored encrypted and never returned. ' +
      '`isDefault: true` makes it the organization’s one default model, atomically replacing the previous one; it defaults to false.',
  })
  @ApiCreatedResponse({ type: ModelDto })
  @ApiProblem(409, 'The name is taken in this organization', 'conflict')
  create(@OrgCaller() caller: OrgPrincipal, @Body() dto: CreateModelDto): Promise<ModelDto> {
    return this.models.create(caller.orgId, dto);
  }

  @Get()
  @Auth({ permission: 'models:read' })
  @ApiOperation({ summary: 'List the organization’s models', description: 'Newest first, cursor paging.' })
  @ApiListResponse(ModelDto)
  list(@OrgCaller() caller: OrgPrincipal, @Query() query: Record<string, unknown>): Promise<ListEnvelope<ModelDto>> {
    return this.models.list(caller.orgId, parsePageRequest(query));
  }

  @Get(':id')
  @Auth({ permission: 'models:read' })
  @ApiOperation({ summary: 'Get a model' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: ModelDto })
  get(@OrgCaller() caller: OrgPrincipal, @Param('id', UuidParam) id: string): Promise<ModelDto> {
    return this.models.get(caller.orgId, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @Auth({ permission: 'models:write' })
  @ApiOperation({ summary: 'Delete a model', description: 'Deleting the default leaves the organization without a default model.' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  async delete(@OrgCaller() caller: OrgPrincipal, @Param('id', UuidParam) id: string): Promise<void> {
    await this.models.delete(caller.orgId, id);
  }
}
