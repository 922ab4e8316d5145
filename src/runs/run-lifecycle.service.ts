import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { OrgPrincipal } from '../auth/principal.js';
import { getFileFields } from '../catalog/manifest-files.js';
import { isPrefixedV7 } from '../common/ids.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { preparedQuery } from '../database/prepared.js';
import { RunEventsService } from './run-events.service.js';
import { RunFile } from './run-file.entity.js';
import { presentLogRow, type LogRow, type RunLogEntry, type RunLogInput } from './run-log.presenter.js';
import { Run, type RunStatus } from './run.entity.js';
import { presentRun } from './run.presenter.js';

export type TerminalStatus = 'success' | 'failed' | 'timeout' | 'cancelled';

/** How a run ended. Fields left out keep their stored value. */
export interface RunOutcome {
  status: TerminalStatus;
  result?: { output: unknown } | null;
  error?: string | null;
  errorCode?: string | null;
  usage?: { inputTokens: number; outputTokens: number };
  cost?: number | null;
}

/** How a cancelled run ends, whoever writes it (the cancel route, or the worker as a fallback). */
export const CANCELLED: RunOutcome = { status: 'cancelled', error: 'Run cancelled', errorCode: 'cancelled' };
const CANCELLED_LOG: RunLogInput = { type: 'system', event: 'run_cancelled', level: 'warn', message: 'Run cancelled.', data: { errorCode: 'cancelled' } };

/**
 * The log entries written by the same statement as a transition, in the given order (ids
 * ascend in insertion order), returned as one JSON array.
 */
const LOG_CTE = `log AS (
    INSERT INTO run_logs (run_id, org_id, type, event, level, message, data)
    SELECT upd.id, upd.org_id, l.e->>'type', l.e->>'event', l.e->>'level', l.e->>'message', l.e->'data'
    FROM upd, jsonb_array_elements($LOGS::jsonb) WITH ORDINALITY AS l(e, ord)
    ORDER BY l.ord
    RETURNING id, type, event, level, message, data, created_at
  )
  SELECT upd.*, (SELECT jsonb_agg(jsonb_build_object('id', log.id, 'type', log.type, 'event', log.event, 'level', log.level,
                   'message', log.message, 'data', log.data, 'created_at', log.created_at) ORDER BY log.id) FROM log) AS "log$entries"
  FROM upd`;

/**
 * The run state machine in PostgreSQL: `pending → running → success | failed | timeout | cancelled`.
 * Every transition is one conditional statement (`… WHERE status IN (…)`), so whoever loses a
 * race (a cancel against a finishing worker, a worker re-running a stalled job) changes
 * nothing, and a terminal state is written exactly once. The log entry of a transition is
 * inserted by the same statement, and both are published after commit: log first, then status,
 * so a stream that closes on the terminal status has already sent every entry.
 */
@Injectable()
export class RunLifecycleService {
  private readonly columns: Array<[property: string, column: string]>;
  private readonly returning: string;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly events: RunEventsService,
  ) {
    this.columns = db.getMetadata(Run).columns.map((c) => [c.propertyName, c.databaseName]);
    this.returning = this.columns.map(([, column]) => `"${column}"`).join(', ');
  }

  /**
   * `pending → running`, writing `logs` with it. Null when the run is not pending any more
   * (cancelled, or already taken).
   */
  async start(runId: string, logs: RunLogInput[]): Promise<{ run: Run; files: RunFile[] } | null> {
    const rows = await this.transition(
      'runs.start',
      `UPDATE runs SET status = 'running', started_at = now() WHERE id = $1 AND status = 'pending'`,
      [runId],
      logs,
    );
    if (!rows) return null;
    const files = await this.filesOf(rows.run);
    this.announce(rows.run, files, rows.logs);
    return { run: rows.run, files };
  }

  /**
   * Ends a live run. Null when it had already ended (the other writer won). `orgId` scopes the
   * write when it comes from an API request.
   */
  async finish(
    runId: string,
    outcome: RunOutcome,
    log: RunLogInput,
    options: { orgId?: string; files?: RunFile[] } = {},
  ): Promise<{ run: Run; files: RunFile[] } | null> {
    const values: unknown[] = [
      runId,
      outcome.status,
      outcome.result == null ? null : JSON.stringify(outcome.result),
      outcome.result !== undefined,
      outcome.error ?? null,
      outcome.errorCode ?? null,
      outcome.usage?.inputTokens ?? null,
      outcome.usage?.outputTokens ?? null,
      outcome.cost ?? null,
      outcome.cost !== undefined,
    ];
    if (options.orgId) values.push(options.orgId);
    const rows = await this.transition(
      options.orgId ? 'runs.finish-in-org' : 'runs.finish',
      `UPDATE runs SET
         status = $2,
         result = CASE WHEN $4 THEN $3::jsonb ELSE result END,
         error = $5,
         error_code = $6,
         input_tokens = COALESCE($7, input_tokens),
         output_tokens = COALESCE($8, output_tokens),
         cost = CASE WHEN $10 THEN $9 ELSE cost END,
         completed_at = now(),
         -- Capped at the column's int range (24.8 days): a run that waited longer still ends.
         duration_ms = LEAST(2147483647, GREATEST(0, round(extract(epoch FROM (now()::timestamptz(3) - COALESCE(started_at, created_at))) * 1000)))::int
       WHERE id = $1 AND status IN ('pending', 'running') ${options.orgId ? 'AND org_id = $11' : ''}`,
      values,
      [log],
    );
    if (!rows) return null;
    const files = options.files ?? (await this.filesOf(rows.run));
    this.announce(rows.run, files, rows.logs);
    return { run: rows.run, files };
  }

  /** Ends a live run as `cancelled`; null when it had already ended. */
  cancel(runId: string, options: { orgId?: string; files?: RunFile[] } = {}): Promise<{ run: Run; files: RunFile[] } | null> {
    return this.finish(runId, CANCELLED, CANCELLED_LOG, options);
  }

  /**
   * The run as the caller may see it: another org's run, or another end-user's under
   * `Appstrate-User`, is 404 `run_not_found` (never 403), as for every run route.
   */
  async findForCaller(caller: OrgPrincipal, runId: string): Promise<Run> {
    const run = isPrefixedV7(runId, 'run_')
      ? await this.db.getRepository(Run).findOneBy({ id: runId, orgId: caller.orgId, ...(caller.endUserId && { endUserId: caller.endUserId }) })
      : null;
    if (!run) throw new ProblemException('run_not_found', 'No such run in this organization.');
    return run;
  }

  /** The run as stored, whatever its state. */
  async find(runId: string): Promise<Run | null> {
    return this.db.getRepository(Run).findOneBy({ id: runId });
  }

  /** A run's files, in upload order; no query when its manifest has no file field. */
  async filesOf(run: Run): Promise<RunFile[]> {
    if (getFileFields(run.manifest).size === 0) return [];
    return this.db.getRepository(RunFile).find({ where: { runId: run.id, orgId: run.orgId }, order: { id: 'ASC' } });
  }

  /** Publishes the run's current state (e.g. when a worker resumes a run that stayed `running`). */
  publishStatus(run: Run, files: RunFile[]): void {
    this.events.publish(run.id, [{ type: 'status', run: presentRun(run, files) }]);
  }

  /** The transition's entries, then the new status, as one message (one Redis round trip). */
  private announce(run: Run, files: RunFile[], logs: RunLogEntry[]): void {
    this.events.publish(run.id, [...logs.map((log) => ({ type: 'log' as const, log })), { type: 'status', run: presentRun(run, files) }]);
  }

  /**
   * Runs `update` (returning the run's mapped columns) as the `upd` CTE with the log inserts;
   * null when no row matched. A prepared statement (`name` per distinct `update`): planning
   * these CTEs cost PostgreSQL about as much as executing them, twice per run. The columns are
   * listed, not `*`, so a column added by a later migration cannot change a prepared result type.
   */
  private async transition(
    name: string,
    update: string,
    values: unknown[],
    logs: RunLogInput[],
  ): Promise<{ run: Run; logs: RunLogEntry[] } | null> {
    const sql = `WITH upd AS (${update} RETURNING ${this.returning}), ${LOG_CTE.replace('$LOGS', `$${values.length + 1}`)}`;
    const entries = logs.map((l) => ({ type: l.type, event: l.event, level: l.level, message: l.message, data: l.data ?? {} }));
    const rows = await preparedQuery<Record<string, unknown>>(this.db, name, sql, [...values, JSON.stringify(entries)]);
    if (rows.length === 0) return null;
    const row = rows[0];
    const run = this.db.getRepository(Run).create();
    for (const [property, column] of this.columns) (run as unknown as Record<string, unknown>)[property] = row[column];
    const written = (row['log$entries'] as Array<Omit<LogRow, 'created_at'> & { created_at: string }> | null) ?? [];
    return { run, logs: written.map((entry) => presentLogRow({ ...entry, id: String(entry.id), created_at: new Date(entry.created_at) })) };
  }
}

export const isLive = (status: RunStatus): boolean => status === 'pending' || status === 'running';
