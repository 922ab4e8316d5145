import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import type { TestOrg } from './support/factories.js';
import type { FakeModelServer, FakeReply } from './support/fake-model-server.js';
import {
  createAgent,
  createFakeModel,
  getRun,
  pollRun,
  runLogs,
  spawnWorkerProcess,
  startRun,
  useRunStage,
  type RunCaller,
  type WorkerProcess,
} from './support/run-helpers.js';

/** Worker lock and stall-check period in these tests: a dead worker's run is noticed within about 2 × this. */
const STALLED_SECONDS = 2;
/** The configured bound for a lost run to be resumed or failed, with room for a busy 2-core machine. */
const RECOVERY_BOUND_MS = 4 * STALLED_SECONDS * 1000 + 10_000;

/**
 * Workers in child processes (the real app with PROCESS_ROLE=worker): one is killed with
 * SIGKILL in the middle of a model call, and the run must not stay `running`.
 */
// Each test boots a worker child process (seconds on a busy 2-core machine): generous timeouts.
describe('worker processes: cross-process cancel and crash recovery', { timeout: 120_000 }, () => {
  let api: TestApp, fake: FakeModelServer, org: TestOrg, caller: RunCaller;
  useRunStage((stage) => ({ api, fake, org, caller } = stage));
  let child: WorkerProcess | null = null;
  let survivor: TestApp | null = null;

  /** The first request for `model` hangs (the worker will die in it); later ones answer. */
  const hangFirst = (model: string, then: FakeReply) =>
    fake.reply((request) => (request.body.model === model && fake.requestsFor(model).length === 1 ? { hang: true } : then));
  afterEach(async () => {
    await child?.kill();
    child = null;
    await survivor?.close();
    survivor = null;
    fake.reset();
  });
  it('cancels a run held by a worker in another process: the model call is aborted within 2 s', async () => {
    child = await spawnWorkerProcess({ WORKER_STALLED_INTERVAL_SECONDS: String(STALLED_SECONDS) });
    const model = await createFakeModel(api, org, fake);
    const agent = await createAgent(api, org, { modelName: model.name });
    fake.reply({ hang: true });

    const run = await startRun(api, caller, agent);
    await fake.waitFor((requests) => requests.some((r) => r.body.model === model.model), 20_000);
    const cancelledAt = Date.now();
    expect((await api.request().post(`/api/runs/${run.id}/cancel`).set(caller.headers)).status).toBe(200);
    await fake.waitFor((requests) => requests.some((r) => r.body.model === model.model && r.abortedAt !== null), 5_000);
    expect(fake.requestsFor(model.model)[0].abortedAt! - cancelledAt).toBeLessThan(2_000);
    expect(await pollRun(api, caller, run.id)).toMatchObject({ status: 'cancelled', errorCode: 'cancelled' });
  });

  it('resumes the run of a SIGKILLed worker on another worker, recording one outcome', async () => {
    child = await spawnWorkerProcess({ WORKER_STALLED_INTERVAL_SECONDS: String(STALLED_SECONDS) });
    const model = await createFakeModel(api, org, fake);
    const agent = await createAgent(api, org, { modelName: model.name });
    hangFirst(model.model, { text: 'recovered' });

    const run = await startRun(api, caller, agent);
    await fake.waitFor((requests) => requests.some((r) => r.body.model === model.model), 20_000);
    expect((await getRun(api, caller, run.id)).body.status).toBe('running');

    await child.kill('SIGKILL');
    const killedAt = Date.now();
    expect((await getRun(api, caller, run.id)).body.status).toBe('running');
    survivor = await startApp({ PROCESS_ROLE: 'worker', WORKER_STALLED_INTERVAL_SECONDS: String(STALLED_SECONDS) });

    const final = await pollRun(api, caller, run.id, undefined, RECOVERY_BOUND_MS);
    expect(Date.now() - killedAt).toBeLessThan(RECOVERY_BOUND_MS);
    expect(final).toMatchObject({ status: 'success', result: { output: 'recovered' }, errorCode: null });
    expect(Number.isInteger(final.duration)).toBe(true);

    // Two model calls (the dead worker's and the resumed one), one outcome.
    expect(fake.requestsFor(model.model)).toHaveLength(2);
    const logs = await runLogs(api, caller, run.id);
    const events = logs.map((l) => `${l.type}/${l.event}`);
    expect(events.filter((e) => e === 'system/run_started')).toHaveLength(1);
    expect(events.filter((e) => e === 'system/run_resumed')).toHaveLength(1);
    expect(events.filter((e) => e === 'result/output')).toHaveLength(1);
    expect(events.at(-1)).toBe('result/output');
    expect(events.some((e) => e === 'system/run_failed')).toBe(false);
  });

  it('hands a run back to the queue when its worker shuts down gracefully; another worker resumes it', async () => {
    const model = await createFakeModel(api, org, fake);
    const agent = await createAgent(api, org, { modelName: model.name });
    hangFirst(model.model, { text: 'resumed after shutdown' });
    survivor = await startApp({ PROCESS_ROLE: 'worker', WORKER_STALLED_INTERVAL_SECONDS: String(STALLED_SECONDS) });

    const run = await startRun(api, caller, agent);
    await fake.waitFor((requests) => requests.some((r) => r.body.model === model.model), 20_000);
    await survivor.close();
    survivor = null;
    // Shutting down aborted the model call and left the run for another worker.
    expect(fake.requestsFor(model.model)[0].abortedAt).not.toBeNull();
    expect((await getRun(api, caller, run.id)).body.status).toBe('running');

    survivor = await startApp({ PROCESS_ROLE: 'worker', WORKER_STALLED_INTERVAL_SECONDS: String(STALLED_SECONDS) });
    const final = await pollRun(api, caller, run.id, undefined, RECOVERY_BOUND_MS);
    expect(final).toMatchObject({ status: 'success', result: { output: 'resumed after shutdown' } });
    const events = (await runLogs(api, caller, run.id)).map((l) => `${l.type}/${l.event}`);
    expect(events.filter((e) => e === 'system/run_started')).toHaveLength(1);
    expect(events.filter((e) => e === 'system/run_resumed')).toHaveLength(1);
    expect(events.filter((e) => e === 'result/output')).toHaveLength(1);
  });

  /**
   * A run of an agent with `timeoutSeconds`, held by a worker that shuts down mid model call
   * (the run stays `running`), then resumed by another worker `resumeAfterMs` after its start.
   */
  async function resumeHeldRun(timeoutSeconds: number, resumeAfterMs: number) {
    const model = await createFakeModel(api, org, fake);
    const agent = await createAgent(api, org, { modelName: model.name, manifest: { timeoutSeconds } });
    fake.reply({ hang: true });
    const worker = () => startApp({ PROCESS_ROLE: 'worker', WORKER_STALLED_INTERVAL_SECONDS: String(STALLED_SECONDS) });
    survivor = await worker();

    const run = await startRun(api, caller, agent);
    await fake.waitFor((requests) => requests.some((r) => r.body.model === model.model), 20_000);
    await survivor.close();
    survivor = null;
    const held = (await getRun(api, caller, run.id)).body;
    expect(held.status).toBe('running');
    const startedAt = Date.parse(held.startedAt);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + resumeAfterMs - Date.now())));
    survivor = await worker();

    const final = await pollRun(api, caller, run.id, undefined, RECOVERY_BOUND_MS);
    const logs = await runLogs(api, caller, run.id);
    return { model, startedAt, final, logs };
  }

  it('keeps a resumed run’s deadline: its timeout counts from its start, not from the resumption', async () => {
    // Resumed at least halfway to the deadline: a fresh timeout would end the run ≥ 1.5 s after it.
    const { startedAt, final, logs } = await resumeHeldRun(3, 1_500);
    expect(final).toMatchObject({ status: 'timeout', errorCode: 'timeout' });
    const resumedAt = Date.parse(logs.find((l) => l.event === 'run_resumed')!.createdAt);
    expect(resumedAt - startedAt).toBeGreaterThanOrEqual(1_500);
    // Ended at the original deadline (not before it), or at once if the resumption came after it.
    const late = Date.parse(final.completedAt) - Math.max(resumedAt, startedAt + 3_000);
    expect(late).toBeGreaterThanOrEqual(-50);
    expect(late).toBeLessThan(1_000);
  });

  it('ends a run resumed after its deadline as timeout at once, without calling the model again', async () => {
    const { model, final, logs } = await resumeHeldRun(2, 2_500);
    expect(final).toMatchObject({ status: 'timeout', errorCode: 'timeout' });
    expect(fake.requestsFor(model.model)).toHaveLength(1);
    const events = logs.map((l) => `${l.type}/${l.event}`);
    expect(events.slice(events.indexOf('system/run_resumed'))).toEqual(['system/run_resumed', 'system/run_timeout']);
  });

  it('ends the run failed / worker_lost when its worker died more often than allowed', async () => {
    child = await spawnWorkerProcess({ WORKER_STALLED_INTERVAL_SECONDS: String(STALLED_SECONDS) });
    const model = await createFakeModel(api, org, fake);
    const agent = await createAgent(api, org, { modelName: model.name });
    hangFirst(model.model, { text: 'must not be used' });

    const run = await startRun(api, caller, agent);
    await fake.waitFor((requests) => requests.some((r) => r.body.model === model.model), 20_000);
    await child.kill('SIGKILL');
    const killedAt = Date.now();
    // This worker allows no resumption: the first stall fails the run.
    survivor = await startApp({
      PROCESS_ROLE: 'worker',
      WORKER_STALLED_INTERVAL_SECONDS: String(STALLED_SECONDS),
      WORKER_MAX_STALLED_COUNT: '0',
    });

    const final = await pollRun(api, caller, run.id, undefined, RECOVERY_BOUND_MS);
    expect(Date.now() - killedAt).toBeLessThan(RECOVERY_BOUND_MS);
    expect(final).toMatchObject({ status: 'failed', errorCode: 'worker_lost', result: null });
    expect(typeof final.error).toBe('string');
    expect(Number.isInteger(final.duration)).toBe(true);
    expect(fake.requestsFor(model.model)).toHaveLength(1);
    const logs = await runLogs(api, caller, run.id);
    expect(logs.at(-1)).toMatchObject({ type: 'system', event: 'worker_lost', level: 'error' });
    expect(logs.some((l) => l.type === 'result')).toBe(false);
  });
});
