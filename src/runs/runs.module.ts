import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module.js';
import { FilesModule } from '../files/files.module.js';
import { ModelsModule } from '../models/models.module.js';
import { AgentPathGuard } from './agent-path.guard.js';
import { RunActivityModule } from './run-activity.module.js';
import { RunCancelService } from './run-cancel.service.js';
import { RunStreamService } from './run-stream.service.js';
import { RunUploadInterceptor } from './run-upload.interceptor.js';
import { RunsController } from './runs.controller.js';
import { RUNS_QUEUE } from './runs-queue.js';
import { AgentRunCache } from './agent-run-cache.js';
import { RunsService } from './runs.service.js';

/**
 * Runs: accepting them (`RunsService.create`, called by the run endpoint on AgentsController),
 * reading them (RunsController), the `runs` queue they travel through, and their files.
 * FilesModule and the queue are re-exported: the run endpoint's upload interceptor and the
 * execution side need them.
 */
@Module({
  imports: [BullModule.registerQueue({ name: RUNS_QUEUE }), CatalogModule, ModelsModule, FilesModule, RunActivityModule],
  controllers: [RunsController],
  providers: [RunsService, AgentRunCache, RunUploadInterceptor, AgentPathGuard, RunCancelService, RunStreamService],
  exports: [RunsService, RunUploadInterceptor, AgentPathGuard, BullModule, FilesModule],
})
export class RunsModule {}
