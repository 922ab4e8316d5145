import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { OrgPrincipal } from '../auth/principal.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { withTimeout } from '../common/timeout.js';
import { RunEventsService } from './run-events.service.js';
import { RunLifecycleService } from './run-lifecycle.service.js';
import { TERMINAL_STATUSES, type RunStatus } from './run.entity.js';
import { presentRun, type RunResource } from './run.presenter.js';
import { RUNS_QUEUE, type RunJobData } from './runs-queue.js';

/** How long a cancel waits for the queue to drop a pending run's job. */
const QUEUE_REMOVE_TIMEOUT_MS = 1000;

const notCancellable = (status: RunStatus) =>
  new ProblemException('run_not_cancellable', `The run has already ended (${status}); only pending or running runs can be cancelled.`);

/**
 * `POST /api/runs/{runId}/cancel`. The run is marked `cancelled` in PostgreSQL at once (a
 * conditional write, so it cannot overwrite an outcome a worker recorded first); then the
 * worker holding it, in whichever process, is told through Redis to abort its model call, and
 * a job still waiting in the queue is removed (a worker would skip it anyway: it only starts
 * `pending` runs).
 */
@Injectable()
export class RunCancelService {
  constructor(
    private readonly lifecycle: RunLifecycleService,
    private readonly events: RunEventsService,
    @InjectQueue(RUNS_QUEUE) private readonly queue: Queue<RunJobData>,
  ) {}

  async cancel(caller: OrgPrincipal, runId: string): Promise<RunResource> {
    const run = await this.lifecycle.findForCaller(caller, runId);
    if (TERMINAL_STATUSES.has(run.status)) throw notCancellable(run.status);
    const cancelled = await this.lifecycle.cancel(run.id, { orgId: caller.orgId });
    if (!cancelled) {
      // It ended between the read and the write.
      const current = await this.lifecycle.find(run.id);
      throw notCancellable(current?.status ?? run.status);
    }
    await this.events.publishCancel(run.id);
    // Best effort, and bounded: a worker skips a cancelled run anyway, and Redis may be unreachable.
    if (run.status === 'pending') await withTimeout(this.queue.remove(run.id), QUEUE_REMOVE_TIMEOUT_MS).catch(() => undefined);
    return presentRun(cancelled.run, cancelled.files);
  }
}
