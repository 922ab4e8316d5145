import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { schemaErrors } from '../../catalog/json-schema.js';
import { DEFAULT_TIMEOUT_SECONDS } from '../../catalog/manifest.js';
import type { AppConfig } from '../../config/app.config.js';
import { InjectConfig } from '../../config/config.module.js';
import { FILE_STORAGE, type FileStorage } from '../../files/file-storage.js';
import { ModelsService } from '../../models/models.service.js';
import { RunEventsService } from '../run-events.service.js';
import type { RunFile } from '../run-file.entity.js';
import { RunLifecycleService, type RunOutcome } from '../run-lifecycle.service.js';
import type { RunLogInput } from '../run-log.presenter.js';
import { RunLogsService } from '../run-logs.service.js';
import type { Run } from '../run.entity.js';
import { MAX_TOKENS, ModelCallError, ModelClient, type ChatAnswer, type ModelEndpoint } from './model-client.js';
import { unstorableTextFields } from '../../common/validation/unstorable-text.js';
import { buildMessages, parseJsonAnswer, schemaName } from './prompt-builder.js';

/** Model calls per run, the first included (API.md section 7). */
export const MAX_ATTEMPTS = 3;
/** Longest wait a provider's Retry-After may impose between two attempts. */
const MAX_RETRY_AFTER_MS = 10_000;
/**
 * How long a model configuration read for one run is reused for the next: saves a query per
 * run under load. A model deleted meanwhile may still serve runs for this long.
 */
const ENDPOINT_CACHE_MS = 5_000;
const ENDPOINT_CACHE_LIMIT = 1_000;

const STARTED_LOG: RunLogInput = { type: 'system', event: 'run_started', level: 'info', message: 'Run started.' };
/** One per model call; the model string is on the run. */
const attemptLog = (attempt: number): RunLogInput => ({
  type: 'progress',
  event: 'progress',
  level: 'info',
  message: `Calling the model (attempt ${attempt} of ${MAX_ATTEMPTS}).`,
  data: { attempt },
});

/** Why an execution was interrupted from outside the model call. */
class Interruption extends Error {
  constructor(readonly kind: 'timeout' | 'cancelled' | 'shutdown') {
    super(kind);
  }
}

/** What became of one job: the run ran to an end here, was not ours to run, or must run elsewhere. */
export type ExecutionResult = 'finished' | 'skipped' | 'interrupted';

type Usage = ChatAnswer['usage'];

const addUsage = (a: Usage, b: Usage): Usage => ({
  inputTokens: Math.min(a.inputTokens + b.inputTokens, MAX_TOKENS),
  outputTokens: Math.min(a.outputTokens + b.outputTokens, MAX_TOKENS),
});

/**
 * Executes one run: claims it (`pending → running`), builds the prompt, calls the model with
 * retries, checks the output and writes the outcome. Each run in flight has an AbortController
 * that its timeout, a cancel signal (from any API process, through Redis) or shutdown trips;
 * tripping it aborts the model call at once.
 */
@Injectable()
export class RunExecutor implements OnModuleInit {
  private readonly logger = new Logger(RunExecutor.name);
  private readonly inFlight = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  private readonly endpoints = new Map<string, { endpoint: ModelEndpoint; expires: number }>();
  private stopListening: (() => void) | null = null;

  constructor(
    private readonly lifecycle: RunLifecycleService,
    private readonly logs: RunLogsService,
    private readonly events: RunEventsService,
    private readonly models: ModelsService,
    private readonly modelClient: ModelClient,
    @Inject(FILE_STORAGE) private readonly storage: FileStorage,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const subscription = this.events.onCancel((runId) => this.inFlight.get(runId)?.controller.abort(new Interruption('cancelled')));
    this.stopListening = subscription.stop;
    await subscription.ready;
  }

  /**
   * Shutdown: stops every run in flight (their executions return `interrupted`, so their jobs
   * go back to the queue for another worker) and stops listening for cancel signals.
   */
  async interruptAll(): Promise<void> {
    this.stopListening?.();
    const running = [...this.inFlight.values()];
    running.forEach((r) => r.controller.abort(new Interruption('shutdown')));
    await Promise.allSettled(running.map((r) => r.done));
  }

  /**
   * Runs `runId` once. `resumed` is true when the queue hands the job out again after its
   * worker was lost: a run still `running` is then executed again (its terminal write stays
   * conditional, so at most one outcome is recorded).
   */
  async execute(runId: string, resumed: boolean): Promise<ExecutionResult> {
    const controller = new AbortController();
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    // Registered before the run is claimed, so a cancel published right after the claim is not missed.
    this.inFlight.set(runId, { controller, done });
    try {
      const claimed = await this.claim(runId, resumed);
      if (!claimed) return 'skipped';
      return await this.run(claimed, controller);
    } finally {
      this.inFlight.delete(runId);
      settle();
    }
  }

  /**
   * Ends a run whose job the queue gave up on (its worker died more often than allowed, or the
   * job failed outside the executor) as `failed`; a run that already ended is left alone.
   */
  async failLost(runId: string, reason: 'worker_lost' | 'internal_error', detail: string): Promise<void> {
    const error =
      reason === 'worker_lost'
        ? 'The worker executing this run stopped responding and the run could not be resumed.'
        : 'The run failed because of an internal error.';
    await this.lifecycle.finish(runId, { status: 'failed', error, errorCode: reason }, {
      type: 'system',
      event: reason,
      level: 'error',
      message: error,
      data: { reason: detail },
    });
  }

  /**
   * Takes a pending run, or, for a job handed out again, the run its lost worker left
   * `running` (`resumed`, with the time it has already run).
   */
  private async claim(runId: string, resumed: boolean): Promise<ClaimedRun | null> {
    // The claim writes the entry of the first model call too: one statement instead of two on the hot path.
    const started = await this.lifecycle.start(runId, [STARTED_LOG, attemptLog(1)]);
    if (started) return { ...started, resumed: false, elapsedMs: 0 };
    const run = await this.lifecycle.find(runId);
    if (!run || run.status !== 'running' || !resumed) return null;
    const files = await this.lifecycle.filesOf(run);
    const entry = await this.logs.appendWhileRunning(run, {
      type: 'system',
      event: 'run_resumed',
      level: 'warn',
      message: 'The worker executing this run stopped before finishing it; running it again.',
    });
    // No entry: the run ended (a cancel) since it was read.
    if (!entry) return null;
    this.lifecycle.publishStatus(run, files);
    // Both times come from PostgreSQL's clock, so a worker clock that drifts does not count.
    const elapsedMs = run.startedAt ? Math.max(0, Date.parse(entry.createdAt) - run.startedAt.getTime()) : 0;
    return { run, files, resumed: true, elapsedMs };
  }

  private async run({ run, files, resumed, elapsedMs }: ClaimedRun, controller: AbortController): Promise<ExecutionResult> {
    const timeoutSeconds = run.manifest.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    // A resumed run keeps its deadline, counted from its start: only the time left, not a
    // fresh timeout per worker.
    const timeoutMs = timeoutSeconds * 1000 - elapsedMs;
    const usage: Usage = { inputTokens: 0, outputTokens: 0 };
    const timedOut = (cost: number | null) =>
      this.finish(run, files, { status: 'timeout', error: `The run exceeded its ${timeoutSeconds}-second timeout.`, errorCode: 'timeout', usage, cost });
    if (timeoutMs <= 0) {
      await timedOut(null);
      return 'finished';
    }
    const timer = setTimeout(() => controller.abort(new Interruption('timeout')), timeoutMs);
    let endpoint: ModelEndpoint | null = null;
    try {
      endpoint = await this.endpoint(run);
      const outcome = await this.attempt(run, files, endpoint, usage, !resumed, controller.signal);
      await this.finish(run, files, { ...outcome, usage, cost: cost(endpoint, usage) });
      return 'finished';
    } catch (err) {
      const interruption = controller.signal.aborted ? controller.signal.reason : err;
      const totals = { usage, cost: endpoint ? cost(endpoint, usage) : null };
      if (interruption instanceof Interruption) {
        if (interruption.kind === 'shutdown') return 'interrupted';
        if (interruption.kind === 'timeout') {
          await timedOut(totals.cost);
        } else {
          // The cancel route has already written `cancelled`: this changes nothing unless that write was lost.
          await this.lifecycle.cancel(run.id, { files });
        }
        return 'finished';
      }
      if (err instanceof ModelCallError) {
        // The run's model could not be resolved (deleted since the run was accepted, or no
        // server default in this process): a model failure like any other, not an internal error.
        await this.logs.appendWhileRunning(run, adapterErrorLog(err, 1, true));
        await this.finish(run, files, { status: 'failed', error: err.message, errorCode: 'model_error', ...totals });
        return 'finished';
      }
      this.logger.error({ msg: 'run failed unexpectedly', runId: run.id, orgId: run.orgId, err });
      await this.finish(run, files, { status: 'failed', error: 'The run failed because of an internal error.', errorCode: 'internal_error', ...totals });
      return 'finished';
    } finally {
      clearTimeout(timer);
    }
  }

  /** Calls the model (up to MAX_ATTEMPTS times for transient failures) and checks the answer. */
  private async attempt(
    run: Run,
    files: RunFile[],
    endpoint: ModelEndpoint,
    usage: Usage,
    firstAttemptLogged: boolean,
    signal: AbortSignal,
  ): Promise<RunOutcome> {
    const messages = await buildMessages({
      prompt: run.prompt,
      input: run.input,
      files: files.map((f) => ({ id: f.id, field: f.field, filename: f.filename, contentType: f.contentType, size: Number(f.size) })),
      readFile: (file) => this.storage.read(files.find((f) => f.id === file.id)!.storageKey),
    });
    const schema = run.manifest.output?.schema;
    const jsonSchema =
      schema !== undefined ? { name: schemaName(run.agentScope, run.agentName), schema: typeof schema === 'object' ? schema : {} } : undefined;

    // A log entry is only written while the run is `running`: none written means it was
    // cancelled (or ended) without this worker hearing of it, so it calls the model no more.
    const logWhileRunning = async (entry: RunLogInput) => {
      if (!(await this.logs.appendWhileRunning(run, entry))) throw new Interruption('cancelled');
    };
    let answer: ChatAnswer | null = null;
    for (let attempt = 1; !answer; attempt++) {
      signal.throwIfAborted();
      if (attempt > 1 || !firstAttemptLogged) await logWhileRunning(attemptLog(attempt));
      try {
        answer = await this.modelClient.complete(endpoint, { messages, jsonSchema }, signal);
      } catch (err) {
        if (!(err instanceof ModelCallError)) throw err;
        Object.assign(usage, addUsage(usage, err.usage));
        const last = !err.transient || attempt >= MAX_ATTEMPTS;
        await logWhileRunning(adapterErrorLog(err, attempt, last));
        if (last) {
          const error = attempt > 1 ? `The model call failed after ${attempt} attempts: ${err.message}` : err.message;
          return { status: 'failed', error, errorCode: 'model_error' };
        }
        await sleep(this.backoffMs(attempt, err), undefined, { signal });
      }
    }
    Object.assign(usage, addUsage(usage, answer.usage));

    if (schema === undefined) return { status: 'success', result: { output: answer.text } };
    const parsed = parseJsonAnswer(answer.text);
    if (!parsed.ok) return { status: 'failed', error: 'The model’s answer is not valid JSON, but the agent has an output schema.', errorCode: 'output_invalid' };
    // JSON escapes can spell what PostgreSQL cannot store (`"\u0000"`), in a key or a value.
    const unstorable = unstorableTextFields(parsed.value, 'output');
    if (unstorable.length > 0) {
      return { status: 'failed', error: `The model’s answer holds text that cannot be stored (a NUL character or an unpaired surrogate) at ${unstorable.join(', ')}.`, errorCode: 'output_invalid' };
    }
    const errors = schemaErrors(schema, parsed.value);
    if (errors) {
      const problems = errors.slice(0, 5).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
      return { status: 'failed', error: `The model’s answer does not match the output schema: ${problems.join('; ')}.`, errorCode: 'output_invalid' };
    }
    return { status: 'success', result: { output: parsed.value } };
  }

  /** Exponential backoff from the configured base; a provider's Retry-After is honoured up to a cap. */
  private backoffMs(attempt: number, err: ModelCallError): number {
    const backoff = this.config.worker.retryBaseDelayMs * 2 ** (attempt - 1);
    const asked = err.retryAfterSeconds === null ? 0 : Math.min(err.retryAfterSeconds * 1000, MAX_RETRY_AFTER_MS);
    return Math.max(backoff, asked);
  }

  /** The run's model: the org model it was accepted with, else the server default. */
  private async endpoint(run: Run): Promise<ModelEndpoint> {
    if (run.modelId) {
      const key = `${run.orgId}:${run.modelId}`;
      const cached = this.endpoints.get(key);
      if (cached && cached.expires > Date.now()) return { ...cached.endpoint, model: run.model };
      const model = await this.models.findById(run.orgId, run.modelId);
      if (!model) throw new ModelCallError('The model configuration this run was accepted with no longer exists.', false);
      const endpoint = {
        baseUrl: model.baseUrl,
        apiKey: this.models.decryptApiKey(model),
        model: run.model,
        inputPricePerMTok: model.inputPricePerMTok,
        outputPricePerMTok: model.outputPricePerMTok,
      };
      this.endpoints.delete(key);
      this.endpoints.set(key, { endpoint, expires: Date.now() + ENDPOINT_CACHE_MS });
      if (this.endpoints.size > ENDPOINT_CACHE_LIMIT) this.endpoints.delete(this.endpoints.keys().next().value!);
      return endpoint;
    }
    const fallback = this.config.models.serverDefault;
    if (!fallback) throw new ModelCallError('No model is configured for this run.', false);
    return { baseUrl: fallback.baseUrl, apiKey: fallback.apiKey, model: run.model, inputPricePerMTok: null, outputPricePerMTok: null };
  }

  private async finish(run: Run, files: RunFile[], outcome: RunOutcome): Promise<void> {
    await this.lifecycle.finish(run.id, outcome, terminalLog(outcome), { files });
  }
}

/** A run this worker now executes; `elapsedMs`: how long it already ran before a resumption. */
interface ClaimedRun {
  run: Run;
  files: RunFile[];
  resumed: boolean;
  elapsedMs: number;
}

/** US dollars, when the model declares at least one price. */
function cost(endpoint: ModelEndpoint, usage: Usage): number | null {
  if (endpoint.inputPricePerMTok === null && endpoint.outputPricePerMTok === null) return null;
  return (usage.inputTokens * (endpoint.inputPricePerMTok ?? 0) + usage.outputTokens * (endpoint.outputPricePerMTok ?? 0)) / 1_000_000;
}

/** `system/adapter_error`: one failed model call (or a model that could not be resolved). */
function adapterErrorLog(err: ModelCallError, attempt: number, last: boolean): RunLogInput {
  return {
    type: 'system',
    event: 'adapter_error',
    level: last ? 'error' : 'warn',
    message: err.message,
    data: { attempt, status: err.status, transient: err.transient, willRetry: !last },
  };
}

/** The entry that closes a run's log: `result/output` with the output, or what went wrong. */
function terminalLog(outcome: RunOutcome): RunLogInput {
  switch (outcome.status) {
    case 'success':
      return { type: 'result', event: 'output', level: 'info', message: 'Run succeeded.', data: outcome.result?.output ?? null };
    case 'timeout':
      return { type: 'system', event: 'run_timeout', level: 'error', message: outcome.error ?? 'Run timed out.', data: { errorCode: outcome.errorCode } };
    default:
      return { type: 'system', event: 'run_failed', level: 'error', message: outcome.error ?? 'Run failed.', data: { errorCode: outcome.errorCode } };
  }
}
