import { Module } from '@nestjs/common';
import { AgentVersionsService } from './agent-versions.service.js';
import { AgentsService } from './agents.service.js';

/**
 * The catalogue: agents, published versions and dist-tags as data and rules (no HTTP).
 * `AgentsService.findByName` and `.resolve` are what the run endpoint uses.
 */
@Module({
  providers: [AgentsService, AgentVersionsService],
  exports: [AgentsService, AgentVersionsService],
})
export class CatalogModule {}
