import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module.js';
import { RunsModule } from '../runs/runs.module.js';
import { AgentsController } from './agents.controller.js';

/** HTTP for agents: the catalogue routes (and the run route, which delegates to the runs module). */
@Module({
  imports: [CatalogModule, RunsModule],
  controllers: [AgentsController],
})
export class AgentsModule {}
