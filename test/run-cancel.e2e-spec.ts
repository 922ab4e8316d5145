import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { RunLogsService } from '../src/runs/run-logs.service.js';
import { RUNS_QUEUE } from '../src/runs/runs-queue.js';
import { startApp, type TestApp } from './support/app.js';
import { createOrg, expectProblem, type TestOrg } from './support/factories.js';
import type { FakeModelServer } from './support/fake-model-server.js';
import {
  createAgent,
  createFakeModel,
  getRun,
  keyCaller,
  openEventStream,
  pollRun,
  runLogs,
  startRun,
  useRunStage,
  type RunCaller,
} from './support/run-helpers.js';

/**
 * The API and the worker run as separate apps here (PROCESS_ROLE=api and =worker, each with
 * its own Redis and PostgreSQL connections), so the cancel signal must travel through Redis.
 */
describe('POST /api/runs/{runId}/cancel', () => {
  let api: TestApp, fake: FakeModelServer, org: TestOrg, caller: RunCaller;
  useRunStage((stage) => ({ api, fake, org, caller } = stage));
  let worker: TestApp | null = null;

  const newAgent = async () => {
    const model = await createFakeModel(api, org, fake);
    return { model, agent: await createAgent(api, org, { modelName: model.name }) };
  };
  afterAll(() => worker?.close());

  it('cancels a run that has waited longer than an int of milliseconds (24.8 days): its duration is capped, not refused', async () => {
    const { agent } = await newAgent();
    const run = await startRun(api, caller, agent); // no worker runs yet: it stays pending
    await api.db.query(`UPDATE runs SET created_at = now() - interval '30 days' WHERE id = $1`, [run.id]);
    const res = await api.request().post(`/api/runs/${run.id}/cancel`).set(caller.headers);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id: run.id, status: 'cancelled', duration: 2 ** 31 - 1 });
  });

  it('cancels a pending run, which then never starts, even if its job is still queued', async () => {
    const cancelled = await newAgent();
    const control = await newAgent();
    const queue = api.app.get<Queue>(getQueueToken(RUNS_QUEUE));

    const run = await startRun(api, caller, cancelled.agent, { input: { ticket: 'x' } });
    expect(run.status).toBe('pending');
    const res = await api.request().post(`/api/runs/${run.id}/cancel`).set(caller.headers);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: 'run', id: run.id, status: 'cancelled', errorCode: 'cancelled', error: 'Run cancelled', result: null, startedAt: null });
    expect(Number.isInteger(res.body.duration)).toBe(true);
    expect(Date.parse(res.body.completedAt)).toBeGreaterThanOrEqual(Date.parse(res.body.createdAt));
    expect((await getRun(api, caller, run.id)).body).toEqual(res.body);
    // Its job left the queue.
    expect(await queue.getJob(run.id)).toBeUndefined();
    // Even a job that could not be removed is skipped: the worker only starts pending runs.
    await queue.add('run', { runId: run.id, orgId: org.id }, { jobId: run.id });

    const later = await startRun(api, caller, control.agent);
    worker = await startApp({ PROCESS_ROLE: 'worker' });
    expect((await pollRun(api, caller, later.id)).status).toBe('success');
    await expect.poll(async () => (await queue.getJob(run.id))?.finishedOn ?? null, { timeout: 10_000 }).not.toBeNull();

    const after = (await getRun(api, caller, run.id)).body;
    expect(after).toEqual(res.body);
    expect(fake.requestsFor(cancelled.model.model)).toHaveLength(0);
    const logs = await runLogs(api, caller, run.id);
    expect(logs.map((l) => `${l.type}/${l.event}`)).toEqual(['system/run_cancelled']);
  });

  it('aborts a running run held by another app within 2 s: the model request is dropped, the stream ends', async () => {
    const { model, agent } = await newAgent();
    fake.reply({ hang: true });
    const run = await startRun(api, caller, agent);
    await fake.waitFor((requests) => requests.some((r) => r.body.model === model.model));
    expect((await getRun(api, caller, run.id)).body.status).toBe('running');
    const stream = await openEventStream(api, `/api/runs/${run.id}/events`, caller.headers);
    await stream.waitFor((e) => e.event === 'status' && e.data.status === 'running');

    const cancelledAt = Date.now();
    const res = await api.request().post(`/api/runs/${run.id}/cancel`).set(caller.headers);
    expect(res.status).toBe(200);
    expect(['cancelled', 'running']).toContain(res.body.status);

    await fake.waitFor((requests) => requests.some((r) => r.body.model === model.model && r.abortedAt !== null), 5_000);
    const [request] = fake.requestsFor(model.model);
    expect(request.abortedAt! - cancelledAt).toBeLessThan(2_000);

    const done = await stream.waitFor((e) => e.event === 'done');
    expect(done.data).toMatchObject({ status: 'cancelled', errorCode: 'cancelled', error: 'Run cancelled' });
    const final = await pollRun(api, caller, run.id);
    expect(final).toMatchObject({ status: 'cancelled', errorCode: 'cancelled', error: 'Run cancelled', result: null });
    expect(Number.isInteger(final.duration)).toBe(true);
    expect(final.startedAt).not.toBeNull();

    // The worker noticed and stopped: its job finished, and nothing was written after the cancel.
    const queue = api.app.get<Queue>(getQueueToken(RUNS_QUEUE));
    await expect.poll(async () => (await queue.getJob(run.id))?.returnvalue ?? null, { timeout: 10_000 }).toBe('finished');
    const logs = await runLogs(api, caller, run.id);
    expect(logs.map((l) => `${l.type}/${l.event}`)).toEqual(['system/run_started', 'progress/progress', 'system/run_cancelled']);
    fake.reset();
  });

  it('stops a run cancelled between model attempts even when the abort signal never reached its worker', async () => {
    worker ??= await startApp({ PROCESS_ROLE: 'worker' });
    const { model, agent } = await newAgent();
    // A transient failure asking for 5 s before the retry: the worker sits in its back-off.
    fake.enqueue({ status: 429, message: 'slow down', headers: { 'retry-after': '5' } });
    const run = await startRun(api, caller, agent);
    await expect.poll(async () => (await runLogs(api, caller, run.id)).map((l) => l.event), { timeout: 10_000 }).toContain('adapter_error');
    // Cancelled in PostgreSQL only: as if the Redis message had been lost.
    await api.db.query(`UPDATE runs SET status = 'cancelled', error = 'Run cancelled', error_code = 'cancelled', completed_at = now() WHERE id = $1`, [run.id]);

    const queue = api.app.get<Queue>(getQueueToken(RUNS_QUEUE));
    await expect.poll(async () => (await queue.getJob(run.id))?.returnvalue ?? null, { timeout: 10_000 }).toBe('finished');
    expect(fake.requestsFor(model.model)).toHaveLength(1);
    expect((await getRun(api, caller, run.id)).body).toMatchObject({ status: 'cancelled', errorCode: 'cancelled' });
    expect((await runLogs(api, caller, run.id)).filter((l) => l.event === 'progress')).toHaveLength(1);
    fake.reset();
  });

  it("never commits a worker's log entry after the terminal entry of a cancel in flight", async () => {
    worker ??= await startApp({ PROCESS_ROLE: 'worker' });
    const { agent } = await newAgent();
    fake.reply({ hang: true });
    const run = await startRun(api, caller, agent);
    await expect.poll(async () => (await getRun(api, caller, run.id)).body.status, { timeout: 10_000 }).toBe('running');
    // A cancel that has written the run and its entry but not committed yet.
    const cancel = api.db.createQueryRunner();
    await cancel.connect();
    await cancel.startTransaction();
    try {
      await cancel.query(`UPDATE runs SET status = 'cancelled', error_code = 'cancelled', completed_at = now() WHERE id = $1`, [run.id]);
      await cancel.query(
        `INSERT INTO run_logs (run_id, org_id, type, event, level, message, data) VALUES ($1, $2, 'system', 'run_cancelled', 'warn', 'Run cancelled.', '{}')`,
        [run.id, org.id],
      );
      let settled = false;
      const appended = api.app
        .get(RunLogsService)
        .appendWhileRunning({ id: run.id, orgId: org.id }, { type: 'progress', event: 'progress', level: 'info', message: 'late' })
        .finally(() => (settled = true));
      // The worker's append waits for the cancel instead of reading the run as still running.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      await cancel.commitTransaction();
      expect(await appended).toBeNull();
    } finally {
      if (cancel.isTransactionActive) await cancel.rollbackTransaction();
      await cancel.release();
    }
    expect((await runLogs(api, caller, run.id)).map((l) => `${l.type}/${l.event}`)).toEqual([
      'system/run_started',
      'progress/progress',
      'system/run_cancelled',
    ]);
    fake.reset();
  });

  it('answers 409 run_not_cancellable for a run that has ended, and changes nothing', async () => {
    const { agent } = await newAgent();
    fake.reply({ text: 'done' });
    const run = await pollRun(api, caller, (await startRun(api, caller, agent)).id);
    expect(run.status).toBe('success');
    const res = await api.request().post(`/api/runs/${run.id}/cancel`).set(caller.headers);
    expectProblem(res, 409, 'run_not_cancellable');
    expect((await getRun(api, caller, run.id)).body).toEqual(run);

    fake.reply({ hang: true });
    const held = await startRun(api, caller, agent);
    const first = await api.request().post(`/api/runs/${held.id}/cancel`).set(caller.headers);
    expect(first.status).toBe(200);
    const cancelled = await pollRun(api, caller, held.id);
    expect(cancelled.status).toBe('cancelled');
    expectProblem(await api.request().post(`/api/runs/${held.id}/cancel`).set(caller.headers), 409, 'run_not_cancellable');
    expect((await getRun(api, caller, held.id)).body).toEqual(cancelled);
    fake.reset();
  });

  it('refuses callers without runs:cancel (403) and unknown runs (404), leaving the run running', async () => {
    const { model, agent } = await newAgent();
    fake.reply({ hang: true });
    const run = await startRun(api, caller, agent);
    await fake.waitFor((requests) => requests.some((r) => r.body.model === model.model));

    const readOnly = await keyCaller(api, org, ['runs:read', 'agents:read']);
    const forbidden = await api.request().post(`/api/runs/${run.id}/cancel`).set(readOnly.headers);
    expect(expectProblem(forbidden, 403, 'forbidden').detail).toContain('runs:cancel');
    expectProblem(await api.request().post(`/api/runs/run_01900000-0000-7000-8000-000000000000/cancel`).set(caller.headers), 404, 'run_not_found');
    expectProblem(await api.request().post(`/api/runs/not-a-run/cancel`).set(caller.headers), 404, 'run_not_found');
    const stranger = await keyCaller(api, await createOrg(api));
    expectProblem(await api.request().post(`/api/runs/${run.id}/cancel`).set(stranger.headers), 404, 'run_not_found');
    expectProblem(await api.request().get(`/api/runs/${run.id}/cancel`).set(caller.headers), 405, 'method_not_allowed');

    expect((await getRun(api, caller, run.id)).body.status).toBe('running');
    expect(fake.requestsFor(model.model)[0].abortedAt).toBeNull();
    const res = await api.request().post(`/api/runs/${run.id}/cancel`).set(caller.headers);
    expect(res.status).toBe(200);
    await pollRun(api, caller, run.id);
    fake.reset();
  });
});
