import { BullModule, Processor } from '@nestjs/bullmq';
import { Module, type DynamicModule } from '@nestjs/common';
import type { AppConfig } from '../../config/app.config.js';
import { FilesModule } from '../../files/files.module.js';
import { ModelsModule } from '../../models/models.module.js';
import { RunActivityModule } from '../run-activity.module.js';
import { RUNS_QUEUE } from '../runs-queue.js';
import { ModelClient } from './model-client.js';
import { OrphanRunsSweeper } from './orphan-runs.sweeper.js';
import { RunExecutor } from './run-executor.js';
import { RunsProcessor } from './runs.processor.js';

/** BullMQ worker options from configuration: concurrency and how fast a dead worker's runs are noticed. */
export function runWorkerOptions(config: AppConfig) {
  const stalledMs = config.worker.stalledIntervalSeconds * 1000;
  return {
    concurrency: config.worker.concurrency,
    // A worker renews its job locks every lockDuration / 2; a dead one's locks expire after
    // lockDuration, and the next stall check (every stalledInterval) hands its runs out again
    // (or fails them after maxStalledCount). So a lost run is noticed within about 2 × the interval.
    lockDuration: stalledMs,
    stalledInterval: stalledMs,
    maxStalledCount: config.worker.maxStalledCount,
  };
}

/**
 * The run worker: loaded only when the process role is `all` or `worker` (see AppModule), so
 * API-only processes never take jobs.
 */
@Module({})
export class RunExecutionModule {
  static forRoot(config: AppConfig): DynamicModule {
    // @Processor options are static metadata; a subclass per app carries this app's settings
    // without touching the shared class (tests boot apps with different settings in one process).
    @Processor(RUNS_QUEUE, runWorkerOptions(config))
    class ConfiguredRunsProcessor extends RunsProcessor {}

    return {
      module: RunExecutionModule,
      imports: [BullModule.registerQueue({ name: RUNS_QUEUE }), RunActivityModule, ModelsModule, FilesModule],
      providers: [ModelClient, RunExecutor, OrphanRunsSweeper, { provide: RunsProcessor, useClass: ConfiguredRunsProcessor }],
    };
  }
}
