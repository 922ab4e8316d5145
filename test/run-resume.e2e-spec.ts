import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RunExecutor } from '../src/runs/execution/run-executor.js';
import { RunLifecycleService } from '../src/runs/run-lifecycle.service.js';
import { RUNS_QUEUE } from '../src/runs/runs-queue.js';
import { startApp, type TestApp } from './support/app.js';
import type { TestOrg } from './support/factories.js';
import type { FakeModelServer } from './support/fake-model-server.js';
import { createAgent, createFakeModel, getRun, runLogs, startRun, useRunStage, type RunCaller } from './support/run-helpers.js';

/**
 * A job handed out again after its worker was lost resumes the run that worker left `running`.
 * Here the test hands the run to a worker's executor itself, to place a cancel exactly between
 * the resumption's read of the run and its `run_resumed` entry, or to resume it past its deadline.
 */
describe('resuming a run its lost worker left running', () => {
  let api: TestApp, fake: FakeModelServer, org: TestOrg, caller: RunCaller;
  useRunStage((stage) => ({ api, fake, org, caller } = stage));
  let worker: TestApp | undefined;
  // A worker left running would take the next test's job before it is removed from the queue.
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
  });

  /** A run as a lost worker leaves it (`running`, started `startedAgo` ago), its job out of the queue, then a worker app. */
  async function heldByLostWorker(startedAgo = '0 seconds') {
    const model = await createFakeModel(api, org, fake);
    const agent = await createAgent(api, org, { modelName: model.name });
    const run = await startRun(api, caller, agent);
    // No worker takes the job: the executor is called directly, as a resumed job would.
    await api.app.get<Queue>(getQueueToken(RUNS_QUEUE)).remove(run.id);
    await api.db.query(`UPDATE runs SET status = 'running', started_at = now() - $2::interval WHERE id = $1`, [run.id, startedAgo]);
    worker = await startApp({ PROCESS_ROLE: 'worker' });
    return { model, run, worker };
  }

  it('does not run it again when a cancel lands between its read and its run_resumed entry', async () => {
    const { model, run, worker } = await heldByLostWorker();
    const lifecycle = worker.app.get(RunLifecycleService);
    const filesOf = lifecycle.filesOf.bind(lifecycle);
    let cancelStatus: number | undefined;
    // `filesOf` is read after the run and before the run_resumed entry: the cancel lands there.
    const between = vi.spyOn(lifecycle, 'filesOf').mockImplementationOnce(async (read) => {
      cancelStatus = (await api.request().post(`/api/runs/${run.id}/cancel`).set(caller.headers)).status;
      return filesOf(read);
    });

    expect(await worker.app.get(RunExecutor).execute(run.id, true)).toBe('skipped');
    expect(between).toHaveBeenCalledTimes(1);
    between.mockRestore();
    expect(cancelStatus).toBe(200);

    expect((await getRun(api, caller, run.id)).body).toMatchObject({ status: 'cancelled', errorCode: 'cancelled', result: null });
    expect(fake.requestsFor(model.model)).toHaveLength(0);
    expect((await runLogs(api, caller, run.id)).map((l) => `${l.type}/${l.event}`)).toEqual(['system/run_cancelled']);
  });

  it('ends it as timeout at once when it is resumed after its deadline, without even resolving its model', async () => {
    // Started an hour ago: far past the default 300 s timeout.
    const { model, run, worker } = await heldByLostWorker('1 hour');
    const executor = worker.app.get(RunExecutor);
    const endpoint = vi.spyOn(executor as unknown as { endpoint: (run: unknown) => Promise<unknown> }, 'endpoint');

    expect(await executor.execute(run.id, true)).toBe('finished');
    expect(endpoint).not.toHaveBeenCalled();
    endpoint.mockRestore();

    expect((await getRun(api, caller, run.id)).body).toMatchObject({ status: 'timeout', errorCode: 'timeout', result: null });
    expect(fake.requestsFor(model.model)).toHaveLength(0);
    expect((await runLogs(api, caller, run.id)).map((l) => `${l.type}/${l.event}`)).toEqual(['system/run_resumed', 'system/run_timeout']);
  });
});
