import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bullmq';
import type { DataSource } from 'typeorm';
import { InjectConfig } from '../../config/config.module.js';
import type { AppConfig } from '../../config/app.config.js';
import { RUNS_QUEUE, runJobOptions, type RunJobData } from '../runs-queue.js';

const BATCH = 500;

/**
 * The API commits a run and then queues its job; a process that dies between the two leaves a
 * `pending` run no worker will ever see. Workers look for such runs now and then and queue them
 * again. Adding is idempotent (job id = run id), so several workers sweeping at once, or a job
 * that does exist, change nothing.
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
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.worker.orphanSweepSeconds * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Re-queues pending runs older than the sweep age whose job is gone; returns how many. */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    try {
      const rows: Array<{ id: string; org_id: string }> = await this.db.query(
        `SELECT id, org_id FROM runs
          WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)
          ORDER BY created_at LIMIT ${BATCH}`,
        [this.config.worker.orphanSweepSeconds],
      );
      let requeued = 0;
      for (const row of rows) {
        if (await this.queue.getJob(row.id)) continue;
        await this.queue.add('run', { runId: row.id, orgId: row.org_id }, runJobOptions(row.id));
        this.logger.warn({ msg: 're-queued a pending run whose job was missing', runId: row.id, orgId: row.org_id });
        requeued++;
      }
      return requeued;
    } catch (err) {
      this.logger.error({ err, msg: 'orphan run sweep failed; will retry at the next interval' });
      return 0;
    } finally {
      this.sweeping = false;
    }
  }
}
