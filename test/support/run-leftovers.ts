import { Queue } from 'bullmq';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNS_QUEUE, type RunJobData } from '../../src/runs/runs-queue.js';
import type { TestApp } from './app.js';

/** A fresh FILE_STORAGE_DIR for one test app, so its files can be counted exactly. */
export const tempStorageDir = (): string => mkdtempSync(join(tmpdir(), 'run-files-'));

/** Every regular file under `dir` (staging included), as paths relative to it. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

/** What a run request can leave behind, for one organization: rows, stored bytes, queued jobs. */
export interface Leftovers {
  runs: number;
  runFiles: number;
  files: number;
  jobs: number;
}

/**
 * Counts an organization's runs, run_files rows and queued jobs, and every file in the app's
 * storage directory; the queue is read with a BullMQ Queue of its own on the same Redis.
 */
export class LeftoverCounter {
  readonly queue: Queue<RunJobData>;

  constructor(private readonly t: TestApp) {
    this.queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: { url: t.config.redis.url } });
  }

  async count(orgId: string): Promise<Leftovers> {
    const [{ runs }] = await this.t.db.query('SELECT count(*)::int AS runs FROM runs WHERE org_id = $1', [orgId]);
    const [{ files }] = await this.t.db.query('SELECT count(*)::int AS files FROM run_files WHERE org_id = $1', [orgId]);
    return { runs, runFiles: files, files: filesUnder(this.t.config.files.storageDir).length, jobs: (await this.jobs(orgId)).length };
  }

  /** The org's jobs in any state. */
  async jobs(orgId: string) {
    const all = await this.queue.getJobs(['wait', 'active', 'delayed', 'prioritized', 'completed', 'failed']);
    return all.filter((job) => job?.data?.orgId === orgId);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
