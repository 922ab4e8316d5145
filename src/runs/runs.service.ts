import { randomInt } from 'node:crypto';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bullmq';
import type { DataSource, EntityManager } from 'typeorm';
import type { ApiVersion } from '../api-versions/api-version.js';
import { HttpResponse } from '../api-versions/versioned-response.interceptor.js';
import type { OrgPrincipal } from '../auth/principal.js';
import { parseAgentPath, type AgentPath } from '../catalog/agent-path.js';
import { Agent } from '../catalog/agent.entity.js';
import { AgentsService } from '../catalog/agents.service.js';
import type { AgentManifest } from '../catalog/manifest.js';
import { currentContext } from '../common/context/request-context.js';
import { applyPage, parsePageRequest, singleQueryValue, toPage, type ListEnvelope, type PageRequest } from '../common/http/pagination.js';
import { isPrefixedV7, newRunId } from '../common/ids.js';
import { withTimeout } from '../common/timeout.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import type { AppConfig } from '../config/app.config.js';
import { InjectConfig } from '../config/config.module.js';
import { FILE_STORAGE, runFileKey, type FileStorage } from '../files/file-storage.js';
import type { IdempotencyClaim } from '../idempotency/idempotency-claim.js';
import { preparedQuery } from '../database/prepared.js';
import { ModelsService } from '../models/models.service.js';
import { acceptRunBody, type AcceptedRunBody } from './run-body.js';
import { RunFile } from './run-file.entity.js';
import { presentRun, type RunResource } from './run.presenter.js';
import type { RunSubmission } from './run-submission.js';
import { Run, RUN_STATUSES, type RunStatus, type TriggerType } from './run.entity.js';
import { AgentRunCache, sameRead, type AgentForRun, type ChosenModel } from './agent-run-cache.js';
import { RunLifecycleService } from './run-lifecycle.service.js';
import { RUNS_QUEUE, runJobOptions, type RunJobData } from './runs-queue.js';

/** Everything the run endpoint hands over (API.md section 5); steps 1–5 have passed. */
export interface RunCreateRequest {
  scope: string;
  name: string;
  /** `?version=` as received (a repeated parameter arrives as an array and is refused). */
  version: unknown;
  apiVersion: ApiVersion;
  submission: RunSubmission;
  /** The request's Idempotency-Key claim, when it sent one: recorded in the run's transaction. */
  idempotency: IdempotencyClaim | null;
}

/** How long `queue.add` may take before the run is withdrawn and the request answers 503. */
const QUEUE_ADD_TIMEOUT_MS = 3000;
/** Suggested wait when the org is at its concurrency cap: runs take seconds to minutes. */
const CONCURRENCY_RETRY_AFTER_SECONDS = 5;
/** Tries at a slot before answering 429: only requests racing for the last free slots need more than one. */
const SLOT_ATTEMPTS = 8;
/** Up to this cap, free slots are listed exactly; above it they are drawn at random. */
const FREE_SLOT_SCAN_LIMIT = 10_000;

/**
 * `insertRun`'s statement aborts itself with a failing cast whose text carries one of these
 * markers: the idempotency key already has a record (a timestamptz cast, 22007), or the agent
 * or the org's default model changed since they were read (an int cast, 22P02).
 */
const RECORD_EXISTS = 'idempotency_record_exists';
const AGENT_CHANGED = 'agent_changed';
const raised = (err: unknown, sqlState: string, marker: string): boolean => {
  const e = err as { code?: string; message?: string; driverError?: { code?: string; message?: string } };
  const code = e.driverError?.code ?? e.code;
  return code === sqlState && String(e.driverError?.message ?? e.message).includes(marker);
};
const isRecordExists = (err: unknown): boolean => raised(err, '22007', RECORD_EXISTS);

/**
 * The org's agent row (alias `a`) joined with the org's default model (alias `d`), as the run
 * endpoint reads them; the join is the same wherever a read is made or checked.
 */
const AGENT_WITH_DEFAULT = `agents a LEFT JOIN models d ON d.org_id = a.org_id AND d.is_default`;
/**
 * Everything a run decision depends on, as one string: the agent row's `xmin` (changed by any
 * write) with its `updated_at` in ms (so a transaction id reused after wraparound, or another
 * cluster's, cannot pass for the same row), and the default model's id and model string.
 */
const READ_VERSION = `a.xmin::text || '@' || floor(extract(epoch FROM a.updated_at) * 1000)::text || '/' || coalesce(d.id::text || ':' || d.model, '')`;

/** The agent (or the org's default model) a cached read described has changed: read it again. */
class AgentChangedError extends Error {}

/** A run checked and ready to store, with the body it was accepted with. */
interface PreparedRun {
  run: Run;
  body: AcceptedRunBody;
}

const isRunId = (id: string): boolean => isPrefixedV7(id, 'run_');

function triggerType(caller: OrgPrincipal): TriggerType {
  if (caller.kind === 'session') return 'user';
  return caller.endUserId ? 'end_user' : 'api_key';
}

/**
 * Runs: accepting one (the run endpoint, steps 6–11 and storage, API.md section 5) and reading
 * them (section 6). Every query carries the org id; with `Appstrate-User`, only that
 * end-user's runs exist.
 */
@Injectable()
export class RunsService {
  private readonly logger = new Logger(RunsService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(RUNS_QUEUE) private readonly queue: Queue<RunJobData>,
    @Inject(FILE_STORAGE) private readonly storage: FileStorage,
    @InjectConfig() private readonly config: AppConfig,
    private readonly agents: AgentsService,
    private readonly models: ModelsService,
    private readonly lifecycle: RunLifecycleService,
    private readonly agentCache: AgentRunCache,
  ) {}

  /**
   * Steps 6–11, then stores the run (`pending`), its files and its job, all or nothing, and
   * answers in the current API version's shape (201 + Location + the Run; the version
   * transform turns it into older shapes). Step 6 (the agent) comes from `AgentRunCache` when
   * this process ran the agent lately; see there for why that never changes an answer.
   */
  async create(caller: OrgPrincipal, request: RunCreateRequest): Promise<HttpResponse> {
    const path = parseAgentPath(request.scope, request.name);
    const cached = this.agentCache.get(caller.orgId, path);
    let refusal: ProblemException | null = null;
    if (cached) {
      // Only a success is taken from a cached read (its INSERT proves the read current); a
      // refusal, or an agent that changed, is decided again below from a fresh one.
      const prepared = await this.prepare(caller, request, cached).catch((err: unknown) => {
        if (!(err instanceof ProblemException)) throw err;
        refusal = err;
        return null;
      });
      if (prepared) {
        try {
          return await this.accept(prepared, request.idempotency, cached);
        } catch (err) {
          if (!(err instanceof AgentChangedError)) throw err;
          const context = currentContext();
          if (context) context.runId = undefined; // that run was never written
        }
      }
      this.agentCache.delete(caller.orgId, path);
    }
    const found = await this.findAgentForRun(caller.orgId, path);
    if (!found) throw new ProblemException('agent_not_found', `No agent ${path.scope}/${path.name} in this organization.`);
    this.agentCache.set(caller.orgId, path, found);
    // The cached read was current after all: its refusal stands.
    if (refusal && cached && sameRead(cached, found)) throw refusal;
    return this.accept(await this.prepare(caller, request, found), request.idempotency, null);
  }

  /** Steps 7–10 against `found`: the permission, the version, the body and the model. */
  private async prepare(caller: OrgPrincipal, request: RunCreateRequest, { agent, orgDefault }: AgentForRun): Promise<PreparedRun> {
    if (!caller.permissions.has('agents:run')) {
      throw new ProblemException('forbidden', 'This request requires the agents:run permission.');
    }
    if (request.version !== undefined && typeof request.version !== 'string') {
      throw new ProblemException('invalid_request', 'Send version once, as a single value.', { param: 'version' });
    }
    const resolved = await this.agents.resolve(agent, request.version);
    const body = acceptRunBody(request.submission, resolved.manifest);
    const model = await this.chooseModel(caller.orgId, body.modelId, resolved.manifest, orgDefault);

    const run = Object.assign(new Run(), {
      id: newRunId(),
      orgId: caller.orgId,
      agentId: agent.id,
      agentScope: agent.scope,
      agentName: agent.name,
      agentVersion: resolved.version,
      agentRef: resolved.ref,
      manifest: resolved.manifest,
      prompt: resolved.prompt,
      status: 'pending' as const,
      input: body.input,
      metadata: body.metadata,
      modelId: model.modelId,
      model: model.model,
      apiVersion: request.apiVersion,
      triggeredByType: triggerType(caller),
      userId: caller.userId,
      apiKeyId: caller.apiKeyId,
      endUserId: caller.endUserId,
      result: null,
      error: null,
      errorCode: null,
      inputTokens: 0,
      outputTokens: 0,
      cost: null,
      durationMs: null,
      startedAt: null,
      completedAt: null,
      concurrencySlot: null,
    });
    return { run, body };
  }

  /**
   * Step 11 and storage: stores the run (`pending`), its files and its job, all or nothing.
   * With `cached`, the INSERT also checks that the agent and the org's default model are still
   * what was read, or fails with `AgentChangedError`.
   */
  private async accept({ run, body }: PreparedRun, idempotency: IdempotencyClaim | null, cached: AgentForRun | null): Promise<HttpResponse> {
    const context = currentContext();
    if (context) context.runId = run.id;
    const files = await this.store(run, body, idempotency, cached);
    await this.enqueue(run, files);
    return this.created(run, files);
  }

  /** The 201 answer; `createdAt` stands in for the run's own when it is not known yet. */
  private created(run: Run, files: RunFile[], createdAt?: string): HttpResponse {
    const body =
      createdAt === undefined
        ? presentRun(run, files)
        : { ...presentRun(Object.assign(new Run(), run, { createdAt: new Date(0) }), files), createdAt };
    return new HttpResponse(201, body, { Location: `/api/runs/${run.id}` });
  }

  /**
   * The org's agent `scope/name` and the org's default model, in one round trip (the hot path
   * of the run endpoint: read raw, without the ORM's query building).
   */
  private async findAgentForRun(orgId: string, path: AgentPath): Promise<AgentForRun | null> {
    const rows = await preparedQuery<Record<string, unknown>>(
      this.db,
      'runs.find-agent',
      `SELECT a.id, a.org_id, a.scope, a.name, a.manifest, a.prompt, a.created_at, a.updated_at, ${READ_VERSION} AS read_version,
              d.id AS default_model_id, d.model AS default_model
         FROM ${AGENT_WITH_DEFAULT}
        WHERE a.org_id = $1 AND a.scope = $2 AND a.name = $3`,
      [orgId, path.scope, path.name],
    );
    const row = rows[0];
    if (!row) return null;
    const agent = Object.assign(new Agent(), {
      id: row.id as string,
      orgId: row.org_id as string,
      scope: row.scope as string,
      name: row.name as string,
      manifest: row.manifest as AgentManifest,
      prompt: row.prompt as string,
      createdAt: row.created_at as Date,
      updatedAt: row.updated_at as Date,
    });
    const orgDefault = row.default_model_id == null ? null : { modelId: row.default_model_id as string, model: row.default_model as string };
    return { agent, orgDefault, readVersion: row.read_version as string };
  }

  /** Step 10: `modelId` > the manifest's `model` (no fallback) > the org default > the server default. */
  private async chooseModel(
    orgId: string,
    modelId: string | undefined,
    manifest: AgentManifest,
    orgDefault: ChosenModel | null,
  ): Promise<ChosenModel> {
    if (modelId !== undefined) {
      const model = await this.models.findById(orgId, modelId);
      if (!model) throw new ProblemException('not_found', 'modelId names no model of this organization.', { param: 'modelId' });
      return { modelId: model.id, model: model.model };
    }
    if (manifest.model !== undefined) {
      const model = await this.models.findByName(orgId, manifest.model);
      if (!model) {
        throw new ProblemException(
          'model_not_configured',
          `The agent asks for the model "${manifest.model}", which this organization has not configured.`,
        );
      }
      return { modelId: model.id, model: model.model };
    }
    if (orgDefault) return orgDefault;
    const server = this.config.models.serverDefault;
    if (server) return { modelId: null, model: server.model };
    throw new ProblemException(
      'model_not_configured',
      'No model is configured: add one to the organization (and make it the default), or pass modelId.',
    );
  }

  /**
   * Step 11 and storage, in one transaction: the run takes a free concurrency slot (the cap,
   * enforced by a unique index, see `insertRun`), its files are recorded, the idempotency
   * record written, and the staged bytes moved to their final keys. If anything fails, the
   * transaction rolls back and the moved files are deleted. Without files, one statement does
   * it all (run + record), atomic by itself.
   */
  private async store(run: Run, body: AcceptedRunBody, idempotency: IdempotencyClaim | null, cached: AgentForRun | null): Promise<RunFile[]> {
    const files = body.files.map((file) =>
      Object.assign(new RunFile(), {
        id: file.id,
        runId: run.id,
        orgId: run.orgId,
        field: file.field,
        filename: file.filename,
        contentType: file.contentType,
        size: file.size,
        sha256: file.sha256,
        storageKey: runFileKey(run.orgId, run.id, file.id),
      }),
    );
    const moved: string[] = [];
    try {
      if (files.length === 0) {
        // The hot path: the run and its idempotency record in one statement, which is all or
        // nothing by itself (no BEGIN/COMMIT round trips).
        await this.insertRun(this.db.manager, run, idempotency, cached);
        return files;
      }
      await this.db.transaction(async (em) => {
        await this.insertRun(em, run, null, cached);
        await this.insertFiles(em, files);
        files.forEach((file) => (file.createdAt = run.createdAt));
        if (idempotency) await idempotency.recordWithin(em, run.id, this.created(run, files));
        for (const [index, file] of files.entries()) {
          await this.storage.commit(body.files[index].stagingKey, file.storageKey);
          moved.push(file.storageKey);
        }
      });
    } catch (error) {
      await this.deleteFiles(moved);
      throw error;
    }
    return files;
  }

  /**
   * Inserts the run holding one of the org's `cap` concurrency slots. A unique index over the
   * live runs' `(org_id, concurrency_slot)` makes the cap atomic without serializing the org:
   * two requests racing for the same slot cannot both commit (the second waits for the first,
   * then finds the slot taken and looks again), and runs that end free their slot. A random
   * slot is tried first (almost always free when the org is below its cap); on a collision the
   * live runs are read to pick among the free slots, and none free → 429.
   */
  private async insertRun(em: EntityManager, run: Run, record: IdempotencyClaim | null, cached: AgentForRun | null): Promise<void> {
    const cap = this.config.runs.orgMaxConcurrentRuns;
    // With `cached`, the row is written only if the agent row and the org's default model are
    // the ones read ($20: its read version); else a failing cast aborts the statement.
    // (The cast's text is read from the table, so it cannot be folded at planning time.)
    const guard = cached ? [cached.readVersion] : [];
    // With `record`, the idempotency record is inserted by the same statement, only when the run
    // row was; its response carries a placeholder for the created_at the statement assigns.
    const placeholder = `created-at:${run.id}`;
    const step = record?.recordStep('run', this.created(run, [], placeholder), placeholder, 20 + guard.length);
    const columns = `INSERT INTO runs (id, org_id, agent_id, agent_scope, agent_name, agent_version, agent_ref, manifest, prompt, status,
                           input, metadata, model_id, model, api_version, triggered_by_type, user_id, api_key_id, end_user_id, concurrency_slot)`;
    const values = `$1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, 'pending', $10::jsonb, $11::jsonb, $12, $13, $14, $15, $16, $17, $18`;
    const insert = `${columns}
         ${
           cached
             ? `SELECT ${values}, CASE WHEN c.version = $20 THEN $19::int ELSE ('${AGENT_CHANGED}:' || coalesce(c.version, 'gone'))::int END
                  FROM (SELECT (SELECT ${READ_VERSION} FROM ${AGENT_WITH_DEFAULT} WHERE a.id = $3 AND a.org_id = $2) AS version) c`
             : `VALUES (${values}, $19)`
         }
         ON CONFLICT (org_id, concurrency_slot) WHERE status IN ('pending', 'running') DO NOTHING
         RETURNING id, created_at`;
    // A run inserted without its record (the key already has one) must not survive: the cast of
    // a non-date aborts the whole statement, so neither row is written.
    const sql = step
      ? `WITH run AS (${insert}), rec AS (${step.sql})
         SELECT CASE WHEN EXISTS (SELECT 1 FROM rec) THEN run.created_at
                     ELSE ('${RECORD_EXISTS}:' || run.id)::timestamptz END AS created_at
           FROM run`
      : insert;
    let slot = randomInt(cap);
    for (let attempt = 0; attempt < SLOT_ATTEMPTS; attempt++) {
      const params = [
        run.id,
        run.orgId,
        run.agentId,
        run.agentScope,
        run.agentName,
        run.agentVersion,
        run.agentRef,
        JSON.stringify(run.manifest),
        run.prompt,
        JSON.stringify(run.input),
        JSON.stringify(run.metadata),
        run.modelId,
        run.model,
        run.apiVersion,
        run.triggeredByType,
        run.userId,
        run.apiKeyId,
        run.endUserId,
        slot,
        ...guard,
        ...(step?.params ?? []),
      ];
      // Outside a transaction (the hot path), as a prepared statement.
      const name = `runs.insert${cached ? '-checked' : ''}${step ? '-with-record' : ''}`;
      const query: Promise<Array<{ created_at: Date }>> = em === this.db.manager ? preparedQuery(this.db, name, sql, params) : em.query(sql, params);
      const rows = await query.catch(async (err: unknown) => {
        // The key already has a finished response: the caller replays it (see recordWithin).
        if (record && isRecordExists(err)) throw await record.conflict(em);
        if (cached && raised(err, '22P02', AGENT_CHANGED)) throw new AgentChangedError();
        throw err;
      });
      if (rows.length > 0) {
        run.createdAt = rows[0].created_at;
        run.concurrencySlot = slot;
        record?.recorded(run.id);
        return;
      }
      const free = await this.freeSlot(em, run.orgId, cap);
      if (free === null) break;
      slot = free;
    }
    throw new ProblemException(
      'org_run_concurrency_exceeded',
      `The organization already has ${cap} runs pending or running; retry when some have finished.`,
      { retryAfter: CONCURRENCY_RETRY_AFTER_SECONDS },
    );
  }

  /** A slot no live run of the org holds, or null when the org is at its cap. */
  private async freeSlot(em: EntityManager, orgId: string, cap: number): Promise<number | null> {
    const live: Array<{ slot: number | null }> = await em.query(
      `SELECT concurrency_slot AS slot FROM runs WHERE org_id = $1 AND status IN ('pending', 'running')`,
      [orgId],
    );
    if (live.length >= cap) return null;
    const taken = new Set(live.map((r) => r.slot));
    if (cap > FREE_SLOT_SCAN_LIMIT) {
      // Far more slots than live runs: a few random draws find a free one.
      for (let i = 0; i < 16; i++) {
        const slot = randomInt(cap);
        if (!taken.has(slot)) return slot;
      }
      return null;
    }
    const free: number[] = [];
    for (let slot = 0; slot < cap; slot++) if (!taken.has(slot)) free.push(slot);
    // Random among the free ones, so that racing requests rarely pick the same.
    return free.length > 0 ? free[randomInt(free.length)] : null;
  }

  private async insertFiles(em: EntityManager, files: RunFile[]): Promise<void> {
    const values: unknown[] = [];
    const tuples = files.map((file, i) => {
      values.push(file.id, file.runId, file.orgId, file.field, file.filename, file.contentType, file.size, file.sha256, file.storageKey);
      const base = i * 9;
      return `(${Array.from({ length: 9 }, (_, k) => `$${base + k + 1}`).join(', ')})`;
    });
    await em.query(
      `INSERT INTO run_files (id, run_id, org_id, field, filename, content_type, size, sha256, storage_key) VALUES ${tuples.join(', ')}`,
      values,
    );
  }

  /**
   * Queues the run's job (job id = run id). If the queue cannot take it, the run is withdrawn
   * (row, file rows and bytes) so no `pending` run waits for a job that does not exist, and the
   * request answers 503.
   */
  private async enqueue(run: Run, files: RunFile[]): Promise<void> {
    try {
      await withTimeout(
        this.queue.add(
          'run',
          { runId: run.id, orgId: run.orgId },
          runJobOptions(run.id),
        ),
        QUEUE_ADD_TIMEOUT_MS,
      );
    } catch (error) {
      this.logger.error({ err: error, runId: run.id, msg: 'could not queue the run; withdrawing it' });
      await this.withdraw(run, files);
      throw new ProblemException('service_unavailable', 'The run queue is unreachable, so the run was not created. Please retry shortly.', {
        retryAfter: 1,
      });
    }
  }

  private async withdraw(run: Run, files: RunFile[]): Promise<void> {
    // An add that timed out may still land once Redis answers: remove it behind it, best effort.
    this.queue.remove(run.id).catch(() => undefined);
    try {
      await this.db.query('DELETE FROM runs WHERE id = $1 AND org_id = $2', [run.id, run.orgId]);
    } catch (error) {
      this.logger.error({ err: error, runId: run.id, msg: 'could not withdraw a run whose job was not queued' });
    }
    await this.deleteFiles(files.map((f) => f.storageKey));
  }

  private async deleteFiles(keys: string[]): Promise<void> {
    await Promise.all(
      keys.map((key) =>
        this.storage.discard(key).catch((error: unknown) => this.logger.error({ err: error, msg: 'could not delete a run file' })),
      ),
    );
  }

  // ---- reading (API.md section 6) ----

  /** One run; another org's run, or another end-user's under `Appstrate-User`, is not found. */
  async get(caller: OrgPrincipal, runId: string): Promise<RunResource> {
    const run = await this.lifecycle.findForCaller(caller, runId);
    return presentRun(run, await this.lifecycle.filesOf(run));
  }

  /** `GET /api/runs`: filters `agent`, `status`, `endUser`; newest first, cursor paging. */
  async list(caller: OrgPrincipal, query: Record<string, unknown>): Promise<ListEnvelope<RunResource>> {
    const filters = parseRunFilters(query, true);
    let agentId: string | undefined;
    if (filters.agent) {
      const agent = await this.agents.findByName(caller.orgId, filters.agent.scope, filters.agent.name);
      // A well-formed agent that does not exist matches nothing (API.md section 1).
      if (!agent) return { object: 'list', data: [], hasMore: false, nextCursor: null };
      agentId = agent.id;
    }
    return this.page(caller, filters, agentId);
  }

  /** `GET /api/agents/{scope}/{name}/runs`: the same, for one agent (404 `agent_not_found` when unknown). */
  async listForAgent(caller: OrgPrincipal, path: AgentPath, query: Record<string, unknown>): Promise<ListEnvelope<RunResource>> {
    const filters = parseRunFilters(query, false);
    const agent = await this.agents.findByName(caller.orgId, path.scope, path.name);
    if (!agent) throw new ProblemException('agent_not_found', `No agent ${path.scope}/${path.name} in this organization.`);
    return this.page(caller, filters, agent.id);
  }

  private async page(caller: OrgPrincipal, filters: RunFilters, agentId: string | undefined): Promise<ListEnvelope<RunResource>> {
    const { page, statuses, endUser } = filters;
    const qb = this.db.getRepository(Run).createQueryBuilder('r').where('r.orgId = :orgId', { orgId: caller.orgId });
    if (caller.endUserId) qb.andWhere('r.endUserId = :self', { self: caller.endUserId });
    if (endUser !== undefined) qb.andWhere('r.endUserId = :endUser', { endUser });
    if (agentId !== undefined) qb.andWhere('r.agentId = :agentId', { agentId });
    if (statuses) qb.andWhere('r.status IN (:...statuses)', { statuses });
    const rows = await applyPage(qb, 'r', page, isRunId).getMany();
    const shown = rows.slice(0, page.limit);
    const files = shown.length
      ? await this.db
          .getRepository(RunFile)
          .createQueryBuilder('f')
          .where('f.orgId = :orgId', { orgId: caller.orgId })
          .andWhere('f.runId IN (:...ids)', { ids: shown.map((r) => r.id) })
          .getMany()
      : [];
    const byRun = new Map<string, RunFile[]>();
    for (const file of files) byRun.set(file.runId, [...(byRun.get(file.runId) ?? []), file]);
    return toPage(rows, page.limit, (run) => presentRun(run, byRun.get(run.id) ?? []));
  }
}

interface RunFilters {
  page: PageRequest;
  agent?: AgentPath;
  statuses: RunStatus[] | null;
  endUser?: string;
}

/**
 * The list filters (API.md sections 1 and 6): `agent=@scope/name`, `status` (one status or a
 * comma-separated list), `endUser=eu_…`, `limit`, `cursor`. Malformed values and unknown
 * statuses are a 400 naming the parameter.
 */
function parseRunFilters(query: Record<string, unknown>, withAgent: boolean): RunFilters {
  const filters: RunFilters = { page: parsePageRequest(query), statuses: null };
  const agent = withAgent ? singleQueryValue(query, 'agent') : undefined;
  if (agent !== undefined) {
    const slash = agent.indexOf('/');
    try {
      if (slash < 0) throw new Error('no slash');
      filters.agent = parseAgentPath(agent.slice(0, slash), agent.slice(slash + 1));
    } catch {
      throw new ProblemException('invalid_request', 'agent must look like @scope/name.', { param: 'agent' });
    }
  }
  const status = singleQueryValue(query, 'status');
  if (status !== undefined) {
    const statuses = status.split(',').map((s) => s.trim());
    if (statuses.some((s) => !(RUN_STATUSES as readonly string[]).includes(s))) {
      throw new ProblemException('invalid_request', `status must be one of ${RUN_STATUSES.join(', ')} (comma-separated for several).`, {
        param: 'status',
      });
    }
    filters.statuses = statuses as RunStatus[];
  }
  const endUser = singleQueryValue(query, 'endUser');
  if (endUser !== undefined) {
    if (!isPrefixedV7(endUser, 'eu_')) {
      throw new ProblemException('invalid_request', 'endUser must be an end-user id (eu_…).', { param: 'endUser' });
    }
    filters.endUser = endUser;
  }
  return filters;
}
