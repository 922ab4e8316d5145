import { Module } from '@nestjs/common';
import { RunEventsService } from './run-events.service.js';
import { RunLifecycleService } from './run-lifecycle.service.js';
import { RunLogsService } from './run-logs.service.js';

/**
 * What both sides of a run share: its state transitions, its log and its events. The worker
 * writes through it; the API reads, cancels and streams through it.
 */
@Module({
  providers: [RunEventsService, RunLogsService, RunLifecycleService],
  exports: [RunEventsService, RunLogsService, RunLifecycleService],
})
export class RunActivityModule {}
