/** The BullMQ queue runs travel through; a job's id is its run's id. */
export const RUNS_QUEUE = 'runs';

export interface RunJobData {
  runId: string;
  orgId: string;
}

/** Options of every run job: the id makes adding idempotent; finished jobs are kept a while for inspection. */
export const runJobOptions = (runId: string) => ({
  jobId: runId,
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
});
