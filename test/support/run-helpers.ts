import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type supertest from 'supertest';
import { afterAll, beforeAll, expect } from 'vitest';
import { startApp, type TestApp } from './app.js';
import { createApiKey, createOrg, type TestOrg } from './factories.js';
import { FakeModelServer } from './fake-model-server.js';

const unique = () => randomBytes(4).toString('hex');

/** Credentials a test calls the run routes with: an API key (Bearer) of the org. */
export interface RunCaller {
  org: TestOrg;
  key: string;
  headers: Record<string, string>;
}

export async function keyCaller(t: TestApp, org: TestOrg, scopes?: string[]): Promise<RunCaller> {
  const { key } = await createApiKey(t, org, scopes ? { scopes } : {});
  return { org, key, headers: { Authorization: `Bearer ${key}` } };
}

/** What the run tests start from: an API-only app, a fake model server, an org and a key of it. */
export interface RunStage {
  api: TestApp;
  fake: FakeModelServer;
  org: TestOrg;
  caller: RunCaller;
}

/**
 * Sets up a `RunStage` for the enclosing `describe`: started before its first test and handed to
 * `use`, closed after its last. Vitest runs `afterAll` hooks in reverse order, so a file's own
 * hooks registered after this call (stopping its workers) run before the stage closes.
 */
export function useRunStage(use: (stage: RunStage) => void): void {
  let api: TestApp | undefined;
  let fake: FakeModelServer | undefined;
  beforeAll(async () => {
    fake = await FakeModelServer.start();
    api = await startApp({ PROCESS_ROLE: 'api' });
    const org = await createOrg(api);
    use({ api, fake, org, caller: await keyCaller(api, org) });
  });
  afterAll(async () => {
    await api?.close();
    await fake?.close();
  });
}

/** Adds to the org a model pointing at the fake server, with a model string unique to the test. */
export async function createFakeModel(
  t: TestApp,
  org: TestOrg,
  fake: FakeModelServer,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; name: string; model: string }> {
  const name = `m-${unique()}`;
  const model = `fake-${unique()}`;
  const res = await org.owner.agent
    .post('/api/models')
    .set('X-Org-Id', org.id)
    .send({ name, baseUrl: fake.baseUrl, apiKey: 'sk-fake-secret', model, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.id, name, model };
}

/** Creates a live agent `@scope/name` whose manifest names `modelName`. */
export async function createAgent(
  t: TestApp,
  org: TestOrg,
  options: { modelName: string; manifest?: Record<string, unknown>; prompt?: string },
): Promise<{ scope: string; name: string; path: string }> {
  const scope = '@acme';
  const name = `agent-${unique()}`;
  const res = await org.owner.agent
    .post('/api/agents')
    .set('X-Org-Id', org.id)
    .send({ scope, name, prompt: options.prompt ?? 'You triage support tickets.', manifest: { model: options.modelName, ...options.manifest } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { scope, name, path: `/api/agents/${scope}/${name}` };
}

/** Starts a run (API version 2026-06-11, so the answer is the Run) and returns it. */
export async function startRun(
  t: TestApp,
  caller: RunCaller,
  agent: { path: string },
  body: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Record<string, any>> {
  const res = await t
    .request()
    .post(`${agent.path}/run`)
    .set(caller.headers)
    .set('Appstrate-Version', '2026-06-11')
    .set(headers)
    .send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

export function getRun(t: TestApp, caller: RunCaller, runId: string, query = ''): supertest.Test {
  return t.request().get(`/api/runs/${runId}${query}`).set(caller.headers);
}

/** Polls the run until `until` holds (terminal by default); generous deadline for a busy machine. */
export async function pollRun(
  t: TestApp,
  caller: RunCaller,
  runId: string,
  until: (run: Record<string, any>) => boolean = (run) => !['pending', 'running'].includes(run.status),
  timeoutMs = 20_000,
): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await getRun(t, caller, runId);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    if (until(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${res.body.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function runLogs(t: TestApp, caller: RunCaller, runId: string): Promise<Array<Record<string, any>>> {
  const res = await t.request().get(`/api/runs/${runId}/logs`).set(caller.headers);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

/** One Server-Sent Event as received. */
export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

/** A Server-Sent Events stream read over a raw HTTP request (supertest buffers the whole body). */
export interface SseStream {
  status: number;
  headers: IncomingMessage['headers'];
  events: SseEvent[];
  /** Comment lines (keep-alives) received. */
  comments: string[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Resolves once an event matching `predicate` has arrived. */
  waitFor: (predicate: (event: SseEvent) => boolean, timeoutMs?: number) => Promise<SseEvent>;
  close: () => void;
}

export async function openEventStream(t: TestApp, path: string, headers: Record<string, string>): Promise<SseStream> {
  const port = await t.port();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      const listeners = new Set<() => void>();
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let split: number;
        while ((split = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          const event: SseEvent = { event: 'message', data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line);
            else if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length === 0) continue;
          const text = data.join('\n');
          try {
            event.data = JSON.parse(text);
          } catch {
            event.data = text;
          }
          events.push(event);
          listeners.forEach((l) => l());
        }
      });
      const ended = new Promise<void>((done) => res.on('end', done).on('close', done));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        ended,
        close: () => req.destroy(),
        waitFor: (predicate, timeoutMs = 15_000) =>
          new Promise((found, fail) => {
            const check = () => {
              const hit = events.find(predicate);
              if (hit) {
                listeners.delete(check);
                clearTimeout(timer);
                found(hit);
              }
            };
            const timer = setTimeout(() => {
              listeners.delete(check);
              fail(new Error(`no matching event within ${timeoutMs} ms; got ${events.map((e) => e.event).join(', ')}`));
            }, timeoutMs);
            listeners.add(check);
            check();
          }),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A worker app running in a child process (see worker-child.mjs), for crash and cross-process tests. */
export interface WorkerProcess {
  pid: number;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill: (signal?: NodeJS.Signals) => Promise<void>;
}

/** Starts a worker child process with these env overrides and waits until it is ready to take jobs. */
export async function spawnWorkerProcess(overrides: Record<string, string> = {}, readyTimeoutMs = 90_000): Promise<WorkerProcess> {
  const { fork } = await import('node:child_process');
  const launcher = new URL('./worker-child.mjs', import.meta.url);
  const child = fork(launcher, [], {
    env: { ...process.env, WORKER_ENV_OVERRIDES: JSON.stringify(overrides) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker process not ready after ${readyTimeoutMs} ms: ${stderr}`)), readyTimeoutMs);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code ?? signal}) before it was ready: ${stderr}`));
    });
  });
  return {
    pid: child.pid!,
    exited,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
