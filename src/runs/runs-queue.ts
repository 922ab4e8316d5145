/** The BullMQ queue runs travel through; a job's id is its run's id. */
export const RUNS_QUEUE = 'runs';

export interface RunJobData {
  runId: string;
  orgId: string;
}
