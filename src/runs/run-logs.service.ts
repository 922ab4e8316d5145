import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { parseLimit, singleQueryValue, type ListEnvelope } from '../common/http/pagination.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { RunEventsService } from './run-events.service.js';
import type { OrgPrincipal } from '../auth/principal.js';
import { RunLifecycleService } from './run-lifecycle.service.js';
import { presentLogRow, type LogRow, type RunLogEntry, type RunLogInput } from './run-log.presenter.js';

export const MAX_LOGS_PAGE = 1000;

export interface LogsQuery {
  /** Entries with an id above this one. */
  since: number;
  limit: number;
}

const logId = (query: Record<string, unknown>, param: 'since' | 'cursor'): number | undefined => {
  const value = singleQueryValue(query, param);
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw new ProblemException('invalid_request', `${param} must be a log entry id (a non-negative integer).`, { param });
  }
  return Number(value);
};

/**
 * `?since=&limit=` of the logs route, and `?cursor=` as every collection takes it: the
 * `nextCursor` of a page (the id of its last entry). A cursor wins over `since`, so a pager
 * that keeps the first query's parameters and adds the cursor moves on. Anything malformed is
 * a 400 naming the parameter.
 */
export function parseLogsQuery(query: Record<string, unknown>): LogsQuery {
  const since = logId(query, 'since');
  const cursor = logId(query, 'cursor');
  return { since: cursor ?? since ?? 0, limit: parseLimit(query, MAX_LOGS_PAGE, MAX_LOGS_PAGE) };
}

/**
 * The run log: append-only entries whose ids ascend within a run. Every entry written is also
 * published (after it is committed) for the event stream.
 */
@Injectable()
export class RunLogsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly events: RunEventsService,
    private readonly lifecycle: RunLifecycleService,
  ) {}

  /** `GET /api/runs/{runId}/logs` for this caller (404 `run_not_found` as for every run route). */
  async listForCaller(caller: OrgPrincipal, runId: string, query: Record<string, unknown>): Promise<ListEnvelope<RunLogEntry>> {
    const page = parseLogsQuery(query);
    return this.list(await this.lifecycle.findForCaller(caller, runId), page);
  }

  /**
   * Appends an entry while the run is `running`, so a worker that lost a race with cancellation
   * adds nothing after the end (null: nothing written). The check share-locks the run row: a
   * terminal write in flight (which holds the row) is waited for and then seen, and one that
   * comes later waits for this entry to commit, so the entry is never committed after the run's
   * terminal entry (which a stream closes on). Transitions write their own entries (see
   * `RunLifecycleService`).
   */
  async appendWhileRunning(run: { id: string; orgId: string }, entry: RunLogInput): Promise<RunLogEntry | null> {
    const rows: LogRow[] = await this.db.query(
      `INSERT INTO run_logs (run_id, org_id, type, event, level, message, data)
       SELECT $1, $2, $3, $4, $5, $6, $7::jsonb WHERE EXISTS (SELECT 1 FROM runs WHERE id = $1 AND status = 'running' FOR SHARE)
       RETURNING id, type, event, level, message, data, created_at`,
      [run.id, run.orgId, entry.type, entry.event, entry.level, entry.message, JSON.stringify(entry.data ?? {})],
    );
    if (rows.length === 0) return null;
    const log = presentLogRow(rows[0]);
    this.events.publish(run.id, [{ type: 'log', log }]);
    return log;
  }

  /** Entries after `since`, oldest first (the caller has already checked access to the run). */
  async list(run: { id: string; orgId: string }, query: LogsQuery): Promise<ListEnvelope<RunLogEntry>> {
    const rows: LogRow[] = await this.db.query(
      `SELECT id, type, event, level, message, data, created_at FROM run_logs
       WHERE run_id = $1 AND org_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
      [run.id, run.orgId, query.since, query.limit + 1],
    );
    const hasMore = rows.length > query.limit;
    const data = rows.slice(0, query.limit).map(presentLogRow);
    return { object: 'list', data, hasMore, nextCursor: hasMore ? String(data.at(-1)!.id) : null };
  }
}
