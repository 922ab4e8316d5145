import { getQueueToken } from '@nestjs/bullmq';
import { randomUUID } from 'node:crypto';
import { Worker, type Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { OrphanRunsSweeper } from '../src/runs/execution/orphan-runs.sweeper.js';
import { RUNS_QUEUE } from '../src/runs/runs-queue.js';
import { startApp, type TestApp } from './support/app.js';
import type { TestOrg } from './support/factories.js';
import type { FakeModelServer } from './support/fake-model-server.js';
import { createAgent, createFakeModel, pollRun, runLogs, startRun, useRunStage, type RunCaller } from './support/run-helpers.js';

/**
 * An API process that dies between committing a run and queueing its job leaves a `pending`
 * run with no job. Workers find such runs and queue them again, once. A live run whose job is
 * gone or finished (its terminal write lost) would hold a concurrency slot for ever: it ends failed.
 */
describe('live runs the queue lost', () => {
  let api: TestApp, fake: FakeModelServer, org: TestOrg, caller: RunCaller;
  useRunStage((stage) => ({ api, fake, org, caller } = stage));
  let worker: TestApp | undefined;
  afterAll(() => worker?.close());

  /** The worker's sweeper, with its own timer stopped: the test sweeps, so counts are exact. */
  const workerSweeper = async () => {
    worker ??= await startApp({ PROCESS_ROLE: 'worker', ORPHAN_RUN_SWEEP_SECONDS: '5' });
    const sweeper = worker.app.get(OrphanRunsSweeper);
    sweeper.onApplicationShutdown();
    return sweeper;
  };

  /** A fresh agent, the queue, and a worker whose sweep the test drives itself. */
  const sweepWithWorker = async () => {
    const model = await createFakeModel(api, org, fake);
    const agent = await createAgent(api, org, { modelName: model.name });
    const queue = api.app.get<Queue>(getQueueToken(RUNS_QUEUE));
    return { agent, queue, sweeper: await workerSweeper() };
  };

  it('are re-queued by a worker and executed exactly once; runs that have a job are left alone', async () => {
    const model = await createFakeModel(api, org, fake);
    const agent = await createAgent(api, org, { modelName: model.name });
    const queue = api.app.get<Queue>(getQueueToken(RUNS_QUEUE));

    const orphan = await startRun(api, caller, agent, { input: { ticket: 'lost' } });
    const queued = await startRun(api, caller, agent, { input: { ticket: 'kept' } });
    // Simulate the crash window: the run row is committed but its job never reached Redis.
    await queue.remove(orphan.id);
    expect(await queue.getJob(orphan.id)).toBeUndefined();
    // Age both runs past the sweep threshold.
    await api.db.query(`UPDATE runs SET created_at = created_at - interval '10 seconds' WHERE id = ANY($1)`, [[orphan.id, queued.id]]);

    // The test drives the sweep itself rather than waiting for the worker's timer.
    const sweeper = await workerSweeper();
    const requeued = await sweeper.sweep();
    expect(requeued).toBeGreaterThanOrEqual(1);
    expect(await sweeper.sweep()).toBe(0);

    for (const run of [orphan, queued]) {
      const done = await pollRun(api, caller, run.id);
      expect(done.status).toBe('success');
      const outputs = (await runLogs(api, caller, run.id)).filter((l) => l.type === 'result' && l.event === 'output');
      expect(outputs).toHaveLength(1);
    }
    expect(fake.requestsFor(model.model)).toHaveLength(2);
  });

  it('end failed when running without a job, or live while the queue is done with their job; live runs with a live job are left alone', async () => {
    const { agent, queue, sweeper } = await sweepWithWorker();

    // Two runs that really ran, put back to `running` as a lost terminal write would leave them.
    const [jobless, finishedJob] = [await startRun(api, caller, agent), await startRun(api, caller, agent)];
    for (const run of [jobless, finishedJob]) expect((await pollRun(api, caller, run.id)).status).toBe('success');
    expect(await queue.getJob(finishedJob.id).then((job) => job?.getState())).toBe('completed');
    await queue.remove(jobless.id);
    const relive = `UPDATE runs SET status = 'running', completed_at = NULL, started_at = now() - interval '10 seconds' WHERE id = ANY($1)`;
    await api.db.query(relive, [[jobless.id, finishedJob.id]]);
    // A running run whose job is still waiting in the (paused) queue is not the sweeper's business.
    await queue.pause();
    const waiting = await startRun(api, caller, agent);
    await api.db.query(`UPDATE runs SET status = 'running', started_at = now() - interval '10 seconds' WHERE id = $1`, [waiting.id]);
    try {
      expect(await sweeper.sweep()).toBe(2);
    } finally {
      await api.db.query(`UPDATE runs SET status = 'cancelled' WHERE id = $1`, [waiting.id]);
      await queue.remove(waiting.id);
      await queue.resume();
    }

    const lost = await pollRun(api, caller, jobless.id);
    expect(lost).toMatchObject({ status: 'failed', errorCode: 'worker_lost' });
    expect(await pollRun(api, caller, finishedJob.id)).toMatchObject({ status: 'failed', errorCode: 'internal_error' });
    const entry = (await runLogs(api, caller, jobless.id)).at(-1);
    expect(entry).toMatchObject({ type: 'system', event: 'worker_lost', data: { reason: 'its job is gone from the queue' } });
    expect(await sweeper.sweep()).toBe(0);
  });

  it('pages through live runs: 500 long ones with live jobs do not hide a lost one behind them', async () => {
    const { agent, queue, sweeper } = await sweepWithWorker();
    const template = await startRun(api, caller, agent);
    expect((await pollRun(api, caller, template.id)).status).toBe('success');

    // Copies of a real run: 500 `running` ones, oldest first, whose jobs wait (delayed) in the
    // queue, then one `running` run without a job, last in the sweep's order.
    const tag = template.id.slice(-12);
    const copy = (id: string, createdAt: string) => `
      INSERT INTO runs (id, org_id, agent_id, agent_scope, agent_name, agent_version, agent_ref, manifest, prompt, status, input,
                        metadata, model_id, model, api_version, triggered_by_type, user_id, api_key_id, created_at, started_at)
      SELECT ${id}, org_id, agent_id, agent_scope, agent_name, agent_version, agent_ref, manifest, prompt, 'running', input,
             metadata, model_id, model, api_version, triggered_by_type, user_id, api_key_id, ${createdAt}, now() - interval '10 minutes'
        FROM runs, generate_series(1, $2::int) g WHERE runs.id = $1`;
    await api.db.query(copy(`'run_long_' || g || '_${tag}'`, `now() - interval '10 minutes' + g * interval '1 ms'`), [template.id, 500]);
    await api.db.query(copy(`'run_lost_${tag}'`, `now() - interval '1 minute'`), [template.id, 1]);
    const long = Array.from({ length: 500 }, (_, i) => `run_long_${i + 1}_${tag}`);
    await queue.addBulk(long.map((runId) => ({ name: 'run', data: { runId, orgId: org.id }, opts: { jobId: runId, delay: 3_600_000 } })));
    try {
      expect(await sweeper.sweep()).toBe(1);
      // (Read from the table: these ids are not the API's.)
      expect(await api.db.query(`SELECT status, error_code FROM runs WHERE id = $1`, [`run_lost_${tag}`])).toEqual([
        { status: 'failed', error_code: 'worker_lost' },
      ]);
      const [{ running }] = await api.db.query(`SELECT count(*)::int AS running FROM runs WHERE id = ANY($1) AND status = 'running'`, [long]);
      expect(running).toBe(500);
    } finally {
      await Promise.all(long.map((id) => queue.remove(id)));
      await api.db.query(`DELETE FROM runs WHERE id = ANY($1)`, [[...long, `run_lost_${tag}`]]);
    }
  });

  it('end as the queue failed their job: a job that stalled too often as worker_lost, any other failure as internal_error', async () => {
    // No worker takes jobs while the test fails two by hand, as BullMQ would after giving up.
    await worker?.close();
    worker = undefined;
    const model = await createFakeModel(api, org, fake);
    const agent = await createAgent(api, org, { modelName: model.name });
    const queue = api.app.get<Queue>(getQueueToken(RUNS_QUEUE));
    const stalled = await startRun(api, caller, agent);
    const broken = await startRun(api, caller, agent);
    const failing = new Worker(RUNS_QUEUE, null, { connection: queue.opts.connection, prefix: queue.opts.prefix, autorun: false });
    try {
      for (const [run, failure] of [
        [stalled, 'job stalled more than allowable limit'],
        [broken, 'the executor threw'],
      ] as const) {
        const token = randomUUID();
        const job = await failing.getNextJob(token);
        expect(job?.id).toBe(run.id);
        await job!.moveToFailed(new Error(failure), token);
        expect(await queue.getJob(run.id).then((j) => j?.getState())).toBe('failed');
      }
    } finally {
      await failing.close();
    }
    // Their runs stayed live, as if the failure's own terminal write had been lost.
    await api.db.query(`UPDATE runs SET status = 'running', started_at = now() - interval '10 seconds' WHERE id = ANY($1)`, [[stalled.id, broken.id]]);

    const sweeper = await workerSweeper();
    expect(await sweeper.sweep()).toBe(2);
    expect(await pollRun(api, caller, stalled.id)).toMatchObject({ status: 'failed', errorCode: 'worker_lost' });
    expect(await pollRun(api, caller, broken.id)).toMatchObject({ status: 'failed', errorCode: 'internal_error' });
    expect((await runLogs(api, caller, broken.id)).at(-1)).toMatchObject({
      type: 'system',
      data: { reason: 'its job is failed: the executor threw' },
    });
    expect(await sweeper.sweep()).toBe(0);
    expect(fake.requestsFor(model.model)).toHaveLength(0);
  });
});
