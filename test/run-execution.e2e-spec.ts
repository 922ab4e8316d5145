import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RUNS_QUEUE } from '../src/runs/runs-queue.js';
import { startApp, type TestApp } from './support/app.js';
import { createOrg, type TestOrg } from './support/factories.js';
import { FakeModelServer } from './support/fake-model-server.js';
import { createAgent, createFakeModel, keyCaller, pollRun, runLogs, startRun, type RunCaller } from './support/run-helpers.js';

// 1×1 transparent PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

describe('run execution (worker, model calls, output checks, retries, timeout)', () => {
  /** The API; runs execute in `worker`, a separate app (PROCESS_ROLE=worker). */
  let t: TestApp;
  let worker: TestApp;
  let fake: FakeModelServer;
  let org: TestOrg;
  let caller: RunCaller;

  beforeAll(async () => {
    fake = await FakeModelServer.start();
    // More runs than the default 20 a minute start here: the limit is another file's subject.
    t = await startApp({ PROCESS_ROLE: 'api', RUN_RATE_LIMIT_PER_MINUTE: '1000' });
    worker = await startApp({ PROCESS_ROLE: 'worker', MODEL_RETRY_BASE_DELAY_MS: '20' });
    org = await createOrg(t);
    caller = await keyCaller(t, org);
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.reset();
  });

  it('runs an agent without output schema: the text is the output, usage and cost are recorded', async () => {
    const model = await createFakeModel(t, org, fake, { inputPricePerMTok: 2, outputPricePerMTok: 10 });
    const agent = await createAgent(t, org, { modelName: model.name, prompt: 'You triage support tickets.' });
    fake.reply({ text: 'Priority: high', usage: { prompt_tokens: 1000, completion_tokens: 500 } });

    const accepted = await startRun(t, caller, agent, { input: { ticket: 'Printer on fire' } });
    expect(accepted.status).toBe('pending');
    const run = await pollRun(t, caller, accepted.id);

    expect(run).toMatchObject({
      status: 'success',
      result: { output: 'Priority: high' },
      error: null,
      errorCode: null,
      model: model.model,
      usage: { inputTokens: 1000, outputTokens: 500 },
    });
    expect(run.cost).toBeCloseTo((1000 * 2 + 500 * 10) / 1e6, 10);
    expect(Number.isInteger(run.duration)).toBe(true);
    expect(run.duration).toBeGreaterThanOrEqual(0);
    expect(Date.parse(run.startedAt)).toBeGreaterThanOrEqual(Date.parse(run.createdAt));
    expect(Date.parse(run.completedAt)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));

    // What the model received: the prompt as system message, the input as user message, the model string, the key.
    const [request] = fake.requestsFor(model.model);
    expect(request.body.messages).toEqual([
      { role: 'system', content: 'You triage support tickets.' },
      { role: 'user', content: JSON.stringify({ ticket: 'Printer on fire' }, null, 2) },
    ]);
    expect(request.body.response_format).toBeUndefined();
    expect(request.headers.authorization).toBe('Bearer sk-fake-secret');
    expect(request.path).toBe('/v1/chat/completions');

    const logs = await runLogs(t, caller, run.id);
    expect(logs.map((l) => `${l.type}/${l.event}`)).toEqual(['system/run_started', 'progress/progress', 'result/output']);
    expect(logs.at(-1)).toMatchObject({ level: 'info', data: 'Priority: high' });
    const ids = logs.map((l) => l.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
  });

  it('asks for JSON with an output schema and returns the parsed, validated output', async () => {
    const model = await createFakeModel(t, org, fake);
    const schema = { type: 'object', properties: { priority: { enum: ['low', 'high'] } }, required: ['priority'], additionalProperties: false };
    const agent = await createAgent(t, org, { modelName: model.name, manifest: { output: { schema } } });
    fake.reply({ json: { priority: 'high' } });

    const run = await pollRun(t, caller, (await startRun(t, caller, agent, { input: {} })).id);
    expect(run).toMatchObject({ status: 'success', result: { output: { priority: 'high' } }, errorCode: null });

    const [request] = fake.requestsFor(model.model);
    expect(request.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: expect.stringMatching(/^[a-zA-Z0-9_-]{1,64}$/), schema, strict: false },
    });
    const logs = await runLogs(t, caller, run.id);
    expect(logs.at(-1)).toMatchObject({ type: 'result', event: 'output', data: { priority: 'high' } });
  });

  it('ends failed / output_invalid when the answer violates the output schema or is not JSON', async () => {
    const model = await createFakeModel(t, org, fake);
    const schema = { type: 'object', properties: { priority: { enum: ['low', 'high'] } }, required: ['priority'] };
    const agent = await createAgent(t, org, { modelName: model.name, manifest: { output: { schema } } });

    fake.reply({ json: { priority: 'urgent' } });
    const violating = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
    expect(violating).toMatchObject({ status: 'failed', errorCode: 'output_invalid', result: null });
    expect(typeof violating.error).toBe('string');
    expect(violating.error).toMatch(/output schema/);
    expect(violating.usage).toEqual({ inputTokens: 11, outputTokens: 7 });
    expect(Number.isInteger(violating.duration)).toBe(true);

    fake.reply({ text: 'I think it is high priority' });
    const prose = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
    expect(prose).toMatchObject({ status: 'failed', errorCode: 'output_invalid', result: null });
    expect(prose.error).toMatch(/not valid JSON/);

    const logs = await runLogs(t, caller, prose.id);
    expect(logs.at(-1)).toMatchObject({ type: 'system', event: 'run_failed', level: 'error' });
    expect(logs.some((l) => l.type === 'result')).toBe(false);
  });

  it('ends an answer PostgreSQL cannot store failed with the model’s fault, never internal_error', async () => {
    const model = await createFakeModel(t, org, fake);
    const text = await createAgent(t, org, { modelName: model.name });
    const json = await createAgent(t, org, { modelName: model.name, manifest: { output: { schema: { type: 'object' } } } });

    for (const [label, reply] of [
      ['a NUL character', 'before\u0000after'],
      ['an unpaired surrogate', 'broken \ud800 text'],
    ] as const) {
      fake.reply({ text: reply });
      const run = await pollRun(t, caller, (await startRun(t, caller, text)).id);
      expect(run, label).toMatchObject({ status: 'failed', errorCode: 'model_error', result: null, usage: { inputTokens: 11, outputTokens: 7 } });
      expect(run.error, label).toMatch(/cannot be stored/);
    }

    // Escaped in JSON, in a key: the text is storable, the parsed output is not.
    fake.reply({ text: '{"ok":true,"bad\\u0000key":{"deep":"\\u0000"}}' });
    const output = await pollRun(t, caller, (await startRun(t, caller, json)).id);
    expect(output).toMatchObject({ status: 'failed', errorCode: 'output_invalid', result: null });
    expect(output.error).toMatch(/cannot be stored .* at output\.\?/);

    // A provider's error message is relayed, made storable.
    fake.reply({ status: 400, message: 'refused \u0000 here' });
    const refused = await pollRun(t, caller, (await startRun(t, caller, text)).id);
    expect(refused).toMatchObject({ status: 'failed', errorCode: 'model_error' });
    expect(refused.error).toBe('The model answered 400: refused \ufffd here');
  });

  it('records token counts a provider reports oddly as whole numbers within range', async () => {
    const model = await createFakeModel(t, org, fake);
    const agent = await createAgent(t, org, { modelName: model.name });
    for (const [usage, expected] of [
      [{ prompt_tokens: 1e12, completion_tokens: -5 }, { inputTokens: 2 ** 31 - 1, outputTokens: 0 }],
      [{ prompt_tokens: 2.6, completion_tokens: Number.NaN }, { inputTokens: 3, outputTokens: 0 }],
      [{ prompt_tokens: '12', completion_tokens: null }, { inputTokens: 0, outputTokens: 0 }],
    ] as const) {
      fake.reply({ text: 'ok', usage: usage as never });
      const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
      expect(run, JSON.stringify(usage)).toMatchObject({ status: 'success', usage: expected });
    }
  });

  it('retries a transient failure (500, then 429) and succeeds, logging every attempt', async () => {
    const model = await createFakeModel(t, org, fake);
    const agent = await createAgent(t, org, { modelName: model.name });
    fake.enqueue({ status: 500, message: 'upstream exploded' }, { status: 429, message: 'slow down' }).reply({ text: 'finally' });

    const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
    expect(run).toMatchObject({ status: 'success', result: { output: 'finally' } });
    expect(fake.requestsFor(model.model)).toHaveLength(3);

    const logs = await runLogs(t, caller, run.id);
    expect(logs.map((l) => `${l.type}/${l.event}`)).toEqual([
      'system/run_started',
      'progress/progress',
      'system/adapter_error',
      'progress/progress',
      'system/adapter_error',
      'progress/progress',
      'result/output',
    ]);
    const errors = logs.filter((l) => l.event === 'adapter_error');
    expect(errors[0]).toMatchObject({ level: 'warn', data: { attempt: 1, status: 500, transient: true, willRetry: true } });
    expect(errors[0].message).toContain('upstream exploded');
    expect(errors[1]).toMatchObject({ data: { attempt: 2, status: 429 } });
    expect(logs.filter((l) => l.event === 'progress').map((l) => l.data.attempt)).toEqual([1, 2, 3]);
  });

  it('waits as long as a 429 Retry-After asks before the next attempt', async () => {
    const model = await createFakeModel(t, org, fake);
    const agent = await createAgent(t, org, { modelName: model.name });
    fake.enqueue({ status: 429, message: 'slow down', headers: { 'retry-after': '1' } }).reply({ text: 'patient' });

    const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
    expect(run).toMatchObject({ status: 'success', result: { output: 'patient' } });
    const [first, second] = fake.requestsFor(model.model);
    expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(950);
  });

  it('gives up after three failed attempts: failed / model_error', async () => {
    const model = await createFakeModel(t, org, fake);
    const agent = await createAgent(t, org, { modelName: model.name });
    fake.reply({ status: 503, message: 'overloaded' });

    const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'model_error', result: null });
    expect(run.error).toMatch(/after 3 attempts/);
    expect(fake.requestsFor(model.model)).toHaveLength(3);
    const logs = await runLogs(t, caller, run.id);
    expect(logs.filter((l) => l.event === 'progress')).toHaveLength(3);
    expect(logs.filter((l) => l.type === 'system' && l.event === 'adapter_error')).toHaveLength(3);
    expect(logs.at(-1)).toMatchObject({ type: 'system', event: 'run_failed', level: 'error' });
  });

  it.each([401, 408, 409, 422])('does not retry a non-transient failure (%i): only 429, 5xx and network failures are', async (status) => {
    const model = await createFakeModel(t, org, fake);
    const agent = await createAgent(t, org, { modelName: model.name });
    fake.reply({ status, message: 'no' });

    const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'model_error' });
    expect(run.error).toContain(String(status));
    expect(fake.requestsFor(model.model)).toHaveLength(1);
  });

  it('treats an unreachable model as transient and ends model_error after three attempts', async () => {
    const dead = await FakeModelServer.start();
    const baseUrl = dead.baseUrl;
    await dead.close();
    const res = await org.owner.agent
      .post('/api/models')
      .set('X-Org-Id', org.id)
      .send({ name: `dead-${Date.now()}`, baseUrl, apiKey: 'k', model: 'dead' });
    expect(res.status).toBe(201);
    const agent = await createAgent(t, org, { modelName: res.body.name });

    const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'model_error' });
    const logs = await runLogs(t, caller, run.id);
    expect(logs.filter((l) => l.event === 'adapter_error').map((l) => l.data.transient)).toEqual([true, true, true]);
  });

  it('ends model_error with an adapter_error entry when the run’s model was deleted before it started', async () => {
    const model = await createFakeModel(t, org, fake);
    const agent = await createAgent(t, org, { modelName: model.name });
    // The queue is paused (files run one at a time, so no other test waits on it) while the model goes.
    const queue = t.app.get<Queue>(getQueueToken(RUNS_QUEUE));
    await queue.pause();
    try {
      const accepted = await startRun(t, caller, agent);
      expect(accepted.status).toBe('pending');
      const deleted = await org.owner.agent.delete(`/api/models/${model.id}`).set('X-Org-Id', org.id);
      expect(deleted.status).toBe(204);
      await queue.resume();

      const run = await pollRun(t, caller, accepted.id);
      expect(run).toMatchObject({ status: 'failed', errorCode: 'model_error', result: null });
      expect(run.error).toMatch(/no longer exists/);
      expect(fake.requestsFor(model.model)).toHaveLength(0);
      const logs = await runLogs(t, caller, run.id);
      expect(logs.at(-2)).toMatchObject({ type: 'system', event: 'adapter_error', level: 'error', data: { attempt: 1, transient: false, willRetry: false } });
      expect(logs.at(-1)).toMatchObject({ type: 'system', event: 'run_failed', data: { errorCode: 'model_error' } });
    } finally {
      await queue.resume();
    }
  });

  it('ends timeout when the model hangs past timeoutSeconds, aborting the model call', async () => {
    const model = await createFakeModel(t, org, fake);
    const agent = await createAgent(t, org, { modelName: model.name, manifest: { timeoutSeconds: 1 } });
    fake.hang();

    const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
    expect(run).toMatchObject({ status: 'timeout', errorCode: 'timeout', result: null });
    expect(run.error).toMatch(/1-second timeout/);
    expect(run.duration).toBeGreaterThanOrEqual(900);
    await fake.waitFor((requests) => requests.some((r) => r.body.model === model.model && r.abortedAt !== null));
    const logs = await runLogs(t, caller, run.id);
    expect(logs.at(-1)).toMatchObject({ type: 'system', event: 'run_timeout' });
  });

  it('sends a text file inline and an image as a data URL, and describes other files', async () => {
    const model = await createFakeModel(t, org, fake);
    const fileProp = (type: string) => ({ type: 'string', format: 'uri', contentMediaType: type });
    const agent = await createAgent(t, org, {
      modelName: model.name,
      manifest: {
        input: {
          schema: {
            type: 'object',
            properties: { note: { type: 'string' }, notes: fileProp('text/plain'), photo: fileProp('image/png'), blob: fileProp('application/octet-stream') },
          },
        },
      },
    });
    const res = await t
      .request()
      .post(`${agent.path}/run`)
      .set(caller.headers)
      .set('Appstrate-Version', '2026-06-11')
      .field('input', JSON.stringify({ note: 'see files' }))
      .attach('notes', Buffer.from('line one\nline two\n'), { filename: 'notes.txt', contentType: 'text/plain' })
      .attach('photo', PNG, { filename: 'pixel.png', contentType: 'image/png' })
      .attach('blob', Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]), { filename: 'data.bin', contentType: 'application/octet-stream' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const run = await pollRun(t, caller, res.body.id);
    expect(run.status).toBe('success');

    const [request] = fake.requestsFor(model.model);
    const content = request.body.messages[1].content as Array<Record<string, any>>;
    expect(Array.isArray(content)).toBe(true);
    expect(JSON.parse(content[0].text)).toMatchObject({ note: 'see files', notes: expect.stringMatching(/^file:\/\/file_/) });
    const byFile = (name: string) => content.find((p) => (p.type === 'text' ? p.text.includes(`"${name}"`) : false));
    expect(byFile('notes.txt')?.text).toMatch(/text\/plain, 18 bytes\):\nline one\nline two\n$/);
    const image = content.find((p) => p.type === 'image_url');
    expect(image?.image_url.url).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
    expect(byFile('data.bin')?.text).toMatch(/data\.bin.*application\/octet-stream, 8 bytes\); its content is not included\./);
  });

  it('ends model_error, without retrying, when the answer exceeds MODEL_MAX_ANSWER_BYTES', async () => {
    const model = await createFakeModel(t, org, fake);
    const agent = await createAgent(t, org, { modelName: model.name });
    await worker.close();
    worker = await startApp({ PROCESS_ROLE: 'worker', MODEL_MAX_ANSWER_BYTES: '2048' });

    fake.reply({ text: 'y'.repeat(5000) });
    const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'model_error', result: null });
    expect(run.error).toBe('The model’s answer exceeds 2048 bytes (MODEL_MAX_ANSWER_BYTES).');
    expect(fake.requestsFor(model.model)).toHaveLength(1);

    fake.reply({ text: 'short enough' });
    expect(await pollRun(t, caller, (await startRun(t, caller, agent)).id)).toMatchObject({ status: 'success', result: { output: 'short enough' } });
  });

  it('refuses, when the call is made, a model on a private network if ALLOW_PRIVATE_MODEL_URLS=false', async () => {
    // Configured while private URLs were allowed; executed by a worker that forbids them.
    const model = await createFakeModel(t, org, fake);
    const agent = await createAgent(t, org, { modelName: model.name });
    await worker.close();
    worker = await startApp({ PROCESS_ROLE: 'worker', ALLOW_PRIVATE_MODEL_URLS: 'false' });

    const run = await pollRun(t, caller, (await startRun(t, caller, agent)).id);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'model_error' });
    expect(run.error).toMatch(/private network/);
    expect(fake.requestsFor(model.model)).toHaveLength(0);
    const logs = await runLogs(t, caller, run.id);
    expect(logs.filter((l) => l.event === 'adapter_error').map((l) => l.data.transient)).toEqual([false]);
  });
});
