import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bullmq';
import type { DataSource } from 'typeorm';
import { InjectConfig } from '../../config/config.module.js';
import type { AppConfig } from '../../config/app.config.js';
import { RUNS_QUEUE, runJobOptions, type RunJobData } from '../runs-queue.js';
import { RunExecutor } from './run-executor.js';
import { lostRunReason } from './runs.processor.js';
import { repeat } from '../../common/repeat.js';

const BATCH = 500;

interface LiveRun {
  id: string;
  org_id: string;
  status: 'pending' | 'running';
  created_at: Date;
}

/**
 * Live runs the queue no longer moves on, found by workers now and then:
 * - The API commits a run and then queues its job; a process that dies between the two leaves a
 *   `pending` run no worker will ever see. It is queued again. Adding is idempotent (job id =
 *   run id), so several workers sweeping at once, or a job that does exist, change nothing.
 * - A `running` run whose job is gone, or a live run whose job the queue has finished with
 *   (completed or failed, but the run's own terminal write was lost, e.g. PostgreSQL was away
 *   at that moment): nothing would ever end it, and it holds one of its org's concurrency
 *   slots. It ends `failed` (`worker_lost` / `internal_error`). The write is conditional, so a
 *   run that ended meanwhile is left as it is.
 */
@Injectable()
export class OrphanRunsSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OrphanRunsSweeper.name);
  private timer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(RUNS_QUEUE) private readonly queue: Queue<RunJobData>,
    @InjectConfig() private readonly config: AppConfig,
    private readonly executor: RunExecutor,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = repeat(() => void this.sweep(), this.config.worker.orphanSweepSeconds * 1000);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Re-queues or ends the live runs (older than the sweep age) the queue has lost; returns how many. */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    try {
      let handled = 0;
      // Paged by (created_at, id): runs that legitimately run long must not hide the ones behind them.
      for (let after: LiveRun | null = null; ; ) {
        const rows = await this.liveRuns(after);
        handled += await this.handle(rows);
        if (rows.length < BATCH) return handled;
        after = rows[rows.length - 1];
      }
    } catch (err) {
      this.logger.error({ err, msg: 'orphan run sweep failed; will retry at the next interval' });
      return 0;
    } finally {
      this.sweeping = false;
    }
  }

  /** One page of live runs older than the sweep age, after `after`. */
  private liveRuns(after: LiveRun | null): Promise<LiveRun[]> {
    return this.db.query(
      `SELECT id, org_id, status, created_at FROM runs
        WHERE status IN ('pending', 'running') AND coalesce(started_at, created_at) < now() - make_interval(secs => $1)
          AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::text))
        ORDER BY created_at, id LIMIT ${BATCH}`,
      [this.config.worker.orphanSweepSeconds, after?.created_at ?? null, after?.id ?? null],
    );
  }

  /** Re-queues or ends each run of `rows` whose job the queue lost; returns how many. */
  private async handle(rows: LiveRun[]): Promise<number> {
    let handled = 0;
    for (const row of rows) {
      const job = await this.queue.getJob(row.id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'missing' && row.status === 'pending') {
        await this.queue.add('run', { runId: row.id, orgId: row.org_id }, runJobOptions(row.id));
        this.logger.warn({ msg: 're-queued a pending run whose job was missing', runId: row.id, orgId: row.org_id });
      } else if (state === 'missing' || state === 'completed' || state === 'failed') {
        const detail = state === 'missing' ? 'its job is gone from the queue' : `its job is ${state}${job?.failedReason ? `: ${job.failedReason}` : ''}`;
        const reason = state === 'completed' ? 'internal_error' : state === 'missing' ? 'worker_lost' : lostRunReason(job?.failedReason ?? '');
        await this.executor.failLost(row.id, reason, detail);
        this.logger.error({ msg: 'ended a live run the queue no longer holds', runId: row.id, orgId: row.org_id, detail });
      } else {
        continue;
      }
      handled++;
    }
    return handled;
  }
}
