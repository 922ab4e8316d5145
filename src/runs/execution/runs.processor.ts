import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { DelayedError, type Job } from 'bullmq';
import type { RunJobData } from '../runs-queue.js';
import { RunExecutor, type ExecutionResult } from './run-executor.js';

/** BullMQ's reason for a job whose worker vanished more often than `maxStalledCount` allows. */
const STALLED = /stalled more than allowable limit/;

/** How a run whose job the queue gave up on ends: its worker was lost, or something failed. */
export const lostRunReason = (failure: string): 'worker_lost' | 'internal_error' => (STALLED.test(failure) ? 'worker_lost' : 'internal_error');
/**
 * A job handed back at shutdown waits this long before another worker may take it, so the
 * closing worker (whose fetch may still be in flight) does not take it again itself.
 */
const HAND_BACK_DELAY_MS = 1_000;

/**
 * Takes run jobs off the `runs` queue (job id = run id) and hands them to the RunExecutor.
 * Its worker options (concurrency, stall detection) come from configuration: see
 * `RunExecutionModule.forRoot`, which registers a configured subclass.
 */
@Injectable()
export class RunsProcessor extends WorkerHost implements BeforeApplicationShutdown {
  private readonly logger = new Logger(RunsProcessor.name);
  private shuttingDown = false;

  constructor(private readonly executor: RunExecutor) {
    super();
  }

  async process(job: Job<RunJobData>, token?: string): Promise<ExecutionResult> {
    const started = performance.now();
    const runId = job.data.runId;
    if (this.shuttingDown) return this.handBack(job, token, 'fetched during shutdown', 0);
    // A job handed out again: its previous worker died (stall) or shut down mid-run.
    const resumed = job.attemptsStarted > 1 || job.stalledCounter > 0;
    this.logger.debug({ msg: 'run job started', runId, orgId: job.data.orgId, attempt: job.attemptsStarted, resumed });
    const result = await this.executor.execute(runId, resumed);
    const durationMs = Math.round(performance.now() - started);
    if (result === 'interrupted') return this.handBack(job, token, 'interrupted by shutdown', durationMs);
    this.logger.log({ msg: 'run job finished', runId, orgId: job.data.orgId, result, durationMs });
    return result;
  }

  /**
   * Graceful shutdown, before the worker is closed: take no new job, then interrupt the runs
   * in flight, whose jobs go back to the queue (see `process`) for another worker to resume.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.worker.pause(true);
    await this.executor.interruptAll();
  }

  /** Gives the job back to the queue (delayed a little) for another worker; the run stays as it is. */
  private async handBack(job: Job<RunJobData>, token: string | undefined, reason: string, durationMs: number): Promise<never> {
    this.logger.warn({ msg: 'run job handed back to the queue', reason, runId: job.data.runId, orgId: job.data.orgId, durationMs });
    await job.moveToDelayed(Date.now() + HAND_BACK_DELAY_MS, token);
    throw new DelayedError();
  }

  /** The queue gave up on the job (stalled too often, or the executor itself threw): end the run. */
  @OnWorkerEvent('failed')
  async onFailed(job: Job<RunJobData> | undefined, err: Error): Promise<void> {
    if (!job) return;
    const reason = lostRunReason(err.message);
    this.logger.error({
      msg: reason === 'worker_lost' ? 'run job lost its worker too often' : 'run job failed',
      runId: job.data.runId,
      orgId: job.data.orgId,
      err: err.message,
    });
    await this.executor
      .failLost(job.data.runId, reason, err.message)
      .catch((e: Error) => this.logger.error({ msg: 'could not record the failed run', runId: job.data.runId, orgId: job.data.orgId, err: e.message }));
  }
}
