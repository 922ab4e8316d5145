import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { RUNS_QUEUE } from '../src/runs/runs-queue.js';
import type { Redis } from 'ioredis';
import { currentContext } from '../src/common/context/request-context.js';
import { RunEventsService } from '../src/runs/run-events.service.js';
import { RunStreamService } from '../src/runs/run-stream.service.js';
import { exchangeRaw, startApp, type TestApp } from './support/app.js';
import { Relay, via } from './support/relay.js';
import { testConfig } from './support/test-env.js';
import { addMember, createOrg, expectProblem, type TestOrg } from './support/factories.js';
import { FakeModelServer, gate } from './support/fake-model-server.js';
import {
  createAgent,
  createFakeModel,
  getRun,
  keyCaller,
  openEventStream,
  pollRun,
  runLogs,
  startRun,
  type RunCaller,
} from './support/run-helpers.js';

describe('run logs, the event stream and ?wait', () => {
  let t: TestApp;
  let fake: FakeModelServer;
  let org: TestOrg;
  let caller: RunCaller;
  let agent: { path: string };

  /** A run whose model call is held until `release.open()`; resolves once the call has arrived. */
  const heldRun = async (text: string) => {
    const release = gate();
    fake.reply({ text, release: release.promise });
    const accepted = await startRun(t, caller, agent);
    await fake.waitFor((requests) => requests.length === 1);
    return { accepted, release };
  };

  beforeAll(async () => {
    fake = await FakeModelServer.start();
    t = await startApp({ MODEL_RETRY_BASE_DELAY_MS: '20', SSE_KEEP_ALIVE_SECONDS: '1' });
    org = await createOrg(t);
    caller = await keyCaller(t, org);
    const model = await createFakeModel(t, org, fake);
    agent = await createAgent(t, org, { modelName: model.name });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.reset();
  });

  describe('GET /api/runs/{runId}/logs', () => {
    it('pages with since and limit, oldest first, hasMore and nextCursor = the next since', async () => {
      fake.enqueue({ status: 500 }, { status: 500 }).reply({ text: 'ok' });
      const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
      const all = await runLogs(t, caller, run.id);
      expect(all).toHaveLength(7);

      const first = await t.request().get(`/api/runs/${run.id}/logs?limit=3`).set(caller.headers);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ object: 'list', hasMore: true, nextCursor: String(all[2].id) });
      expect(first.body.data).toEqual(all.slice(0, 3));

      const second = await t.request().get(`/api/runs/${run.id}/logs?since=${first.body.nextCursor}&limit=3`).set(caller.headers);
      expect(second.body.data).toEqual(all.slice(3, 6));
      expect(second.body.hasMore).toBe(true);

      const last = await t.request().get(`/api/runs/${run.id}/logs?since=${second.body.nextCursor}&limit=3`).set(caller.headers);
      expect(last.body).toMatchObject({ hasMore: false, nextCursor: null });
      expect(last.body.data).toEqual(all.slice(6));

      // A generic pager: the first query's parameters kept, `cursor` = the previous nextCursor.
      const paged: unknown[] = [];
      for (let cursor: string | null = '', pages = 0; cursor !== null && pages < 10; pages++) {
        const page: { status: number; body: { data: unknown[]; nextCursor: string | null } } = await t.request().get(`/api/runs/${run.id}/logs?limit=3&since=0${cursor ? `&cursor=${cursor}` : ''}`).set(caller.headers);
        expect(page.status).toBe(200);
        paged.push(...page.body.data);
        cursor = page.body.nextCursor;
      }
      expect(paged).toEqual(all);
      expect(expectProblem(await t.request().get(`/api/runs/${run.id}/logs?cursor=garbage`).set(caller.headers), 400, 'invalid_request').param).toBe('cursor');

      const after = await t.request().get(`/api/runs/${run.id}/logs?since=${all.at(-1)!.id}`).set(caller.headers);
      expect(after.body).toEqual({ object: 'list', data: [], hasMore: false, nextCursor: null });

      for (const entry of all) {
        expect(Object.keys(entry).sort()).toEqual(['createdAt', 'data', 'event', 'id', 'level', 'message', 'type']);
        expect(['system', 'progress', 'result']).toContain(entry.type);
        expect(Number.isNaN(Date.parse(entry.createdAt))).toBe(false);
      }
    });

    it('refuses a malformed since or limit with 400 naming the parameter', async () => {
      const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
      for (const [query, param] of [
        ['since=abc', 'since'],
        ['since=-1', 'since'],
        ['since=1.5', 'since'],
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=ten', 'limit'],
        ['limit=1&limit=2', 'limit'],
      ]) {
        const res = await t.request().get(`/api/runs/${run.id}/logs?${query}`).set(caller.headers);
        expect(expectProblem(res, 400, 'invalid_request').param, query).toBe(param);
      }
      const max = await t.request().get(`/api/runs/${run.id}/logs?limit=1000&since=0`).set(caller.headers);
      expect(max.status).toBe(200);
    });
  });

  describe('GET /api/runs/{runId}/events', () => {
    it('streams status, every log entry and done, from start to end, then closes', async () => {
      const release = gate();
      fake.reply({ text: 'streamed', release: release.promise });
      const accepted = await startRun(t, caller, agent);
      const stream = await openEventStream(t, `/api/runs/${accepted.id}/events`, caller.headers);
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(stream.headers['cache-control']).toContain('no-cache');

      const firstStatus = await stream.waitFor((e) => e.event === 'status');
      expect(['pending', 'running']).toContain(firstStatus.data.status);
      expect(firstStatus.data).toMatchObject({ object: 'run', id: accepted.id });
      // The model call is in flight: the stream has the run running and its progress entry.
      await stream.waitFor((e) => e.event === 'log' && e.data.event === 'progress');
      await stream.waitFor((e) => e.event === 'status' && e.data.status === 'running');
      release.open();
      const done = await stream.waitFor((e) => e.event === 'done');
      await stream.ended;

      expect(done.data).toMatchObject({ id: accepted.id, status: 'success', result: { output: 'streamed' } });
      const names = stream.events.map((e) => (e.event === 'log' ? `log:${e.data.event}` : e.event === 'status' ? `status:${e.data.status}` : e.event));
      expect(names.at(-3)).toBe('log:output');
      expect(names.slice(-2)).toEqual(['status:success', 'done']);
      // Statuses never go backwards and are not repeated.
      const statuses = stream.events.filter((e) => e.event === 'status').map((e) => e.data.status);
      expect(new Set(statuses).size).toBe(statuses.length);

      const logs = stream.events.filter((e) => e.event === 'log');
      expect(logs.map((e) => e.data)).toEqual(await runLogs(t, caller, accepted.id));
      expect(logs.map((e) => e.id)).toEqual(logs.map((e) => String(e.data.id)));
    });

    it('sends keep-alive comments while the run is live, between events', async () => {
      const release = gate();
      fake.reply({ text: 'slow', release: release.promise });
      const accepted = await startRun(t, caller, agent);
      const stream = await openEventStream(t, `/api/runs/${accepted.id}/events`, caller.headers);
      await stream.waitFor((e) => e.event === 'log' && e.data.event === 'progress');
      const eventsBefore = stream.events.length;
      // SSE_KEEP_ALIVE_SECONDS=1 in this app: a comment arrives while the model call is held.
      await vi.waitFor(() => expect(stream.comments).toContain(': keep-alive'), { timeout: 5_000, interval: 50 });
      expect(stream.events).toHaveLength(eventsBefore);
      release.open();
      await stream.waitFor((e) => e.event === 'done');
      await stream.ended;
    });

    it('resumes after Last-Event-ID: only later entries, then status and done for a finished run', async () => {
      const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
      const logs = await runLogs(t, caller, run.id);
      expect(logs.length).toBeGreaterThanOrEqual(3);

      const full = await openEventStream(t, `/api/runs/${run.id}/events`, caller.headers);
      await full.ended;
      expect(full.events.map((e) => e.event)).toEqual(['status', ...logs.map(() => 'log'), 'done']);
      expect(full.events[0].data.status).toBe('success');

      const resumed = await openEventStream(t, `/api/runs/${run.id}/events`, { ...caller.headers, 'Last-Event-ID': String(logs[0].id) });
      await resumed.ended;
      expect(resumed.events.map((e) => e.event)).toEqual(['status', ...logs.slice(1).map(() => 'log'), 'done']);
      expect(resumed.events.filter((e) => e.event === 'log').map((e) => e.data)).toEqual(logs.slice(1));
    });

    it('resumes a live run after Last-Event-ID without repeating entries', async () => {
      const release = gate();
      fake.reply({ text: 'later', release: release.promise });
      const accepted = await startRun(t, caller, agent);
      const first = await openEventStream(t, `/api/runs/${accepted.id}/events`, caller.headers);
      const progress = await first.waitFor((e) => e.event === 'log' && e.data.event === 'progress');
      first.close();

      const second = await openEventStream(t, `/api/runs/${accepted.id}/events`, { ...caller.headers, 'Last-Event-ID': progress.id! });
      expect((await second.waitFor((e) => e.event === 'status')).data.status).toBe('running');
      release.open();
      await second.waitFor((e) => e.event === 'done');
      await second.ended;
      const logIds = second.events.filter((e) => e.event === 'log').map((e) => Number(e.id));
      expect(logIds.length).toBeGreaterThan(0);
      expect(logIds.every((id) => id > Number(progress.id))).toBe(true);
      expect(second.events.filter((e) => e.event === 'log').map((e) => e.data.event)).toEqual(['output']);
    });

    it('answers problems before the stream starts as problem+json', async () => {
      const res = await t.request().get(`/api/runs/run_01900000-0000-7000-8000-000000000000/events`).set(caller.headers);
      expectProblem(res, 404, 'run_not_found');
      const malformed = await t.request().get(`/api/runs/nope/events`).set(caller.headers);
      expectProblem(malformed, 404, 'run_not_found');
      const anonymous = await t.request().get(`/api/runs/nope/events`);
      expectProblem(anonymous, 401, 'unauthorized');
    });
  });

  describe('GET /api/runs/{runId}?wait=', () => {
    it('holds until the run is terminal, well before the wait is up', async () => {
      const release = gate();
      fake.reply({ text: 'waited', release: release.promise });
      const accepted = await startRun(t, caller, agent);
      const started = Date.now();
      const pending = getRun(t, caller, accepted.id, '?wait=30').then((res) => res);
      await fake.waitFor((requests) => requests.length === 1);
      setTimeout(release.open, 300);
      const res = await pending;
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: accepted.id, status: 'success', result: { output: 'waited' } });
      expect(Date.now() - started).toBeLessThan(15_000);
    });

    it('answers with the live run when the time is up', async () => {
      const { accepted, release } = await heldRun('late');
      const started = Date.now();
      const res = await getRun(t, caller, accepted.id, '?wait=1');
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('running');
      release.open();
      await pollRun(t, caller, accepted.id);
    });

    it('answers a waiting request, and only it, when the next one on its connection is not HTTP', async () => {
      const { accepted, release } = await heldRun('pipelined');
      const answer = await exchangeRaw(
        t,
        `GET /api/runs/${accepted.id}?wait=2 HTTP/1.1\r\nHost: x\r\nAuthorization: ${caller.headers.Authorization}\r\n\r\n` +
          'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n',
      );
      // The first answer whole, nothing written into it, then the connection closed.
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer).toMatch(/^connection: close\r$/im);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ id: accepted.id, status: 'running' });
      release.open();
      await pollRun(t, caller, accepted.id);
    });

    it('answers a terminal run at once', async () => {
      const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
      const started = Date.now();
      const res = await getRun(t, caller, run.id, '?wait=55');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(run);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('refuses any other wait with 400 naming wait', async () => {
      const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
      for (const value of ['0', '56', '-1', '1.5', 'abc', '', '100']) {
        const res = await getRun(t, caller, run.id, `?wait=${value}`);
        expect(expectProblem(res, 400, 'invalid_request').param, value).toBe('wait');
      }
      const twice = await getRun(t, caller, run.id, '?wait=1&wait=2');
      expect(expectProblem(twice, 400, 'invalid_request').param).toBe('wait');
    });
  });

  describe('while Redis cannot be reached (a relay in front of it, cut)', () => {
    let cut: TestApp;
    const relay = Relay.to(testConfig().redis.url, 6379);

    beforeAll(async () => {
      await relay.up();
      cut = await startApp({ REDIS_URL: via(t.config.redis.url, relay.port), PROCESS_ROLE: 'api' });
      await relay.down();
    });
    afterAll(async () => {
      await relay.up();
      await cut?.close();
      await relay.down();
    });

    it('?wait= still answers when its time is up, /events answers 503 before the stream starts, cancel still cancels', async () => {
      const { accepted, release } = await heldRun('held');

      const waited = await getRun(cut, caller, accepted.id, '?wait=1');
      expect(waited.status).toBe(200);
      expect(waited.body).toMatchObject({ id: accepted.id, status: 'running' });
      const events = await cut.request().get(`/api/runs/${accepted.id}/events`).set(caller.headers);
      expect(expectProblem(events, 503, 'service_unavailable').retryAfter).toBe(1);
      expect(events.headers['retry-after']).toBe('1');
      // The run is marked cancelled in PostgreSQL; the abort signal cannot be sent, and waits for nobody.
      const cancelled = await cut.request().post(`/api/runs/${accepted.id}/cancel`).set(caller.headers);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ id: accepted.id, status: 'cancelled' });

      release.open();
      expect((await pollRun(t, caller, accepted.id)).status).toBe('cancelled');
    });

    it('cancels a pending run within its bounds although the queue cannot drop the job', async () => {
      const queue = t.app.get<Queue>(getQueueToken(RUNS_QUEUE));
      await queue.pause(); // the run stays pending
      try {
        const accepted = await startRun(t, caller, agent);
        const started = Date.now();
        const cancelled = await cut.request().post(`/api/runs/${accepted.id}/cancel`).set(caller.headers);
        expect(cancelled.body).toMatchObject({ id: accepted.id, status: 'cancelled' });
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(await queue.getJob(accepted.id)).toBeDefined(); // left for the worker to skip
      } finally {
        await queue.resume();
      }
    });

    it('leaves nothing subscribed when the client leaves while its stream is being set up', async () => {
      const { accepted, release } = await heldRun('held');
      const port = await cut.port();
      const { request } = await import('node:http');
      const channel = `agent-runs:run:${accepted.id}`;
      const subscribers = async () => Number(((await t.redis.pubsub('NUMSUB', channel)) as [string, number])[1]);
      try {
        // The stream waits for Redis to confirm its subscription; the client leaves meanwhile.
        const arrived = new Promise((resolve) => (cut.app.getHttpServer() as import('node:http').Server).once('request', resolve));
        const leaving = request({ host: '127.0.0.1', port, path: `/api/runs/${accepted.id}/events`, headers: caller.headers });
        leaving.on('error', () => undefined);
        leaving.end();
        await arrived;
        await new Promise((r) => setTimeout(r, 100));
        leaving.destroy();
        await relay.up();

        // A second stream proves the subscriber is back; once it ends, the channel must be free.
        const stream = await openEventStream(cut, `/api/runs/${accepted.id}/events`, caller.headers);
        await stream.waitFor((e) => e.event === 'status' && e.data.status === 'running');
        expect(await subscribers()).toBe(1);
        stream.close();
        const deadline = Date.now() + 5_000;
        while ((await subscribers()) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(await subscribers()).toBe(0);
      } finally {
        release.open();
      }
      expect((await pollRun(t, caller, accepted.id)).status).toBe('success');
    });
  });

  it('receives run events on a subscriber that carries no request’s context, so its logs name no request', async () => {
    // A fresh process: its subscriber connection is created by this stream's request.
    const fresh = await startApp({ PROCESS_ROLE: 'api' });
    const { accepted, release } = await heldRun('context');
    try {
      const stream = await openEventStream(fresh, `/api/runs/${accepted.id}/events`, caller.headers);
      await stream.waitFor((e) => e.event === 'status' && e.data.status === 'running');
      const subscriber = (fresh.app.get(RunEventsService) as unknown as { subscriber: Redis }).subscriber;
      const contexts: unknown[] = [];
      subscriber.on('message', () => contexts.push(currentContext()));
      release.open();
      await stream.ended;
      expect(stream.events.at(-1)?.event).toBe('done');
      expect(contexts.length).toBeGreaterThan(0);
      expect(contexts.filter((c) => c !== undefined)).toEqual([]);
    } finally {
      release.open();
      await fresh.close();
    }
  });

  it('ends open streams and waits on shutdown, so the server closes (an EventSource reconnects elsewhere)', async () => {
    const closing = await startApp({ PROCESS_ROLE: 'api' });
    const { accepted, release } = await heldRun('outlived');
    const stream = await openEventStream(closing, `/api/runs/${accepted.id}/events`, caller.headers);
    await stream.waitFor((e) => e.event === 'status' && e.data.status === 'running');
    // Shut down once the wait has reached the server (it is answered whether or not it is waiting yet).
    const arrived = new Promise((resolve) => closing.app.getHttpServer().once('request', resolve));
    const waiting = getRun(closing, caller, accepted.id, '?wait=50').then((res) => res); // sent now
    await arrived;

    await closing.close();
    await stream.ended;
    // Ended by the server with what it had (no `done`: the run still runs), so the client reconnects.
    expect(stream.events.filter((e) => e.event !== 'log').map((e) => `${e.event}:${e.data.status}`)).toEqual(['status:running']);
    const answered = await waiting;
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ id: accepted.id, status: 'running' });

    release.open();
    await pollRun(t, caller, accepted.id);
  });

  it('ends a stream and answers a wait at once when they start while the process shuts down', async () => {
    const closing = await startApp({ PROCESS_ROLE: 'api' });
    const { accepted, release } = await heldRun('late');
    try {
      closing.app.get(RunStreamService).beforeApplicationShutdown();
      const stream = await openEventStream(closing, `/api/runs/${accepted.id}/events`, caller.headers);
      await stream.ended;
      // Its status and the log so far, then the end, without `done`: the run is still running.
      expect(stream.events.filter((e) => e.event !== 'log').map((e) => `${e.event}:${e.data.status}`)).toEqual(['status:running']);
      const started = Date.now();
      const waited = await getRun(closing, caller, accepted.id, '?wait=50');
      expect(waited.body).toMatchObject({ id: accepted.id, status: 'running' });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      release.open();
      await closing.close();
    }
    await pollRun(t, caller, accepted.id);
  });

  it('documents the routes in OpenAPI, the event stream as text/event-stream with its events', async () => {
    const doc = (await t.request().get('/api/openapi.json')).body;
    const events = doc.paths['/api/runs/{runId}/events'].get;
    expect(Object.keys(events.responses['200'].content)).toEqual(['text/event-stream']);
    for (const word of ['event: status', 'event: log', 'event: done', 'Last-Event-ID', 'keep-alive']) expect(events.description).toContain(word);
    expect(doc.paths['/api/runs/{runId}'].get.parameters.map((p: { name: string }) => p.name)).toContain('wait');
    const cancel = doc.paths['/api/runs/{runId}/cancel'].post;
    expect(cancel.responses['409'].content['application/problem+json']).toBeDefined();
    expect(cancel['x-permission']).toBe('runs:cancel');
    expect(doc.paths['/api/runs/{runId}/logs'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['since', 'limit']));
  });

  describe('tenancy and end-users on every run route added here', () => {
    it('hides another org’s runs and another end-user’s runs (404 run_not_found); a viewer reads but cannot cancel', async () => {
      const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
      const other = await createOrg(t);
      const stranger = await keyCaller(t, other);

      const endUser = async (externalId: string) => {
        const res = await t.request().post('/api/end-users').set(caller.headers).send({ externalId });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body.id as string;
      };
      const alice = await endUser(`alice-${Date.now()}`);
      const bob = await endUser(`bob-${Date.now()}`);
      const aliceRun = await pollRun(t, caller, (await startRun(t, caller, agent, {}, { 'Appstrate-User': alice })).id);
      const asAlice = { ...caller.headers, 'Appstrate-User': alice };
      const asBob = { ...caller.headers, 'Appstrate-User': bob };

      const routes = (id: string) => [
        (h: Record<string, string>) => t.request().get(`/api/runs/${id}?wait=1`).set(h),
        (h: Record<string, string>) => t.request().get(`/api/runs/${id}/logs`).set(h),
        (h: Record<string, string>) => t.request().get(`/api/runs/${id}/events`).set(h),
        (h: Record<string, string>) => t.request().post(`/api/runs/${id}/cancel`).set(h),
      ];
      for (const route of routes(run.id)) expectProblem(await route(stranger.headers), 404, 'run_not_found');
      // With Appstrate-User, another end-user's run (or a run of no end-user) does not exist.
      for (const route of routes(aliceRun.id)) expectProblem(await route(asBob), 404, 'run_not_found');
      for (const route of routes(run.id)) expectProblem(await route(asAlice), 404, 'run_not_found');
      // Alice herself sees hers (the cancel answers 409: it already ended).
      const [wait, logs, events, cancel] = routes(aliceRun.id);
      expect((await wait(asAlice)).status).toBe(200);
      expect((await logs(asAlice)).status).toBe(200);
      expect((await events(asAlice)).status).toBe(200);
      expectProblem(await cancel(asAlice), 409, 'run_not_cancellable');

      const viewer = await addMember(t, org, 'viewer');
      const read = await viewer.agent.get(`/api/runs/${run.id}/logs`).set('X-Org-Id', org.id);
      expect(read.status).toBe(200);
      const refused = await viewer.agent.post(`/api/runs/${run.id}/cancel`).set('X-Org-Id', org.id);
      expect(expectProblem(refused, 403, 'forbidden').detail).toContain('runs:cancel');
    });
  });
});
