import type { RunLog, RunLogLevel, RunLogType } from './run-log.entity.js';

/** A run log entry on the wire (API.md section 6). */
export interface RunLogEntry {
  id: number;
  type: RunLogType;
  event: string;
  level: RunLogLevel;
  message: string;
  data: unknown;
  createdAt: string;
}

/** A log entry as it is written: the id and time come from the database. */
export interface RunLogInput {
  type: RunLogType;
  event: string;
  level: RunLogLevel;
  message: string;
  /** An object for most entries; the output itself (any JSON value) for `result/output`. */
  data?: unknown;
}

/** Ids come from a bigint sequence (a string in TypeORM); they stay far below 2^53. */
export const presentRunLog = (log: Pick<RunLog, 'id' | 'type' | 'event' | 'level' | 'message' | 'data' | 'createdAt'>): RunLogEntry => ({
  id: Number(log.id),
  type: log.type,
  event: log.event,
  level: log.level,
  message: log.message,
  data: log.data ?? {},
  createdAt: log.createdAt.toISOString(),
});

/** A raw `run_logs` row, snake_case as SQL returns it. */
export interface LogRow {
  id: string;
  type: RunLog['type'];
  event: string;
  level: RunLog['level'];
  message: string;
  data: unknown;
  created_at: Date;
}

export const presentLogRow = (row: LogRow): RunLogEntry =>
  presentRunLog({
    id: row.id,
    type: row.type,
    event: row.event,
    level: row.level,
    message: row.message,
    data: row.data as RunLog['data'],
    createdAt: row.created_at,
  });
