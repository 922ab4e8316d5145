import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { WaitingError, type Job } from 'bullmq';
import type { RunJobData } from '../runs-queue.js';
import { RunExecutor, type ExecutionResult } from './run-executor.js';

/** BullMQ's reason for a job whose worker vanished more often than `maxStalledCount` allows. */
const STALLED = /stalled more than allowable limit/;

/**
 * Takes run jobs off the `runs` queue (job id = run id) and hands them to the RunExecutor.
 * Its worker options (concurrency, stall detection) come from configuration: see
 * `RunExecutionModule.forRoot`, which registers a configured subclass.
 */
@Injectable()
export class RunsProcessor extends WorkerHost {
  private readonly logger = new Logger(RunsProcessor.name);

  constructor(private readonly executor: RunExecutor) {
    super();
  }

  async process(job: Job<RunJobData>, token?: string): Promise<ExecutionResult> {
    const started = performance.now();
    const runId = job.data.runId;
    // A job handed out again: its previous worker died (stall) or shut down mid-run.
    const resumed = job.attemptsStarted > 1 || job.stalledCounter > 0;
    this.logger.debug({ msg: 'run job started', runId, attempt: job.attemptsStarted, resumed });
    const result = await this.executor.execute(runId, resumed);
    const durationMs = Math.round(performance.now() - started);
    if (result === 'interrupted') {
      // Shutting down mid-run: give the job back so another worker resumes the run.
      this.logger.warn({ msg: 'run job returned to the queue (shutdown)', runId, durationMs });
      await job.moveToWait(token);
      throw new WaitingError();
    }
    this.logger.log({ msg: 'run job finished', runId, result, durationMs });
    return result;
  }

  /** The queue gave up on the job (stalled too often, or the executor itself threw): end the run. */
  @OnWorkerEvent('failed')
  async onFailed(job: Job<RunJobData> | undefined, err: Error): Promise<void> {
    if (!job) return;
    const lost = STALLED.test(err.message);
    this.logger.error({ msg: lost ? 'run job lost its worker too often' : 'run job failed', runId: job.data.runId, err: err.message });
    await this.executor
      .failLost(job.data.runId, lost ? 'worker_lost' : 'internal_error', err.message)
      .catch((e: Error) => this.logger.error({ msg: 'could not record the failed run', runId: job.data.runId, err: e.message }));
  }
}
