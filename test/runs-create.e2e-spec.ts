import { request as httpRequest } from 'node:http';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAgent, publishVersion, type TestAgent } from './support/agents.js';
import { addMember, createApiKey, createOrg, expectProblem, type TestOrg } from './support/factories.js';
import { LeftoverCounter, tempStorageDir, type Leftovers } from './support/run-leftovers.js';

const NEW = '2026-06-11';
const OLD = '2026-03-21';

/** Input with a required ticket, an optional typed field, a closed shape, and a file field. */
const MANIFEST = {
  input: {
    schema: {
      type: 'object',
      properties: {
        ticket: { type: 'string', minLength: 3 },
        priority: { type: 'integer', minimum: 1 },
        email: { type: 'string', format: 'email' },
        attachment: { type: 'string', format: 'uri', contentMediaType: 'application/pdf' },
      },
      required: ['ticket'],
      additionalProperties: false,
    },
  },
};
const OPEN_MANIFEST = { input: { schema: { type: 'object', properties: { ticket: { type: 'string' } } } } };

interface Fixture {
  org: TestOrg;
  agent: TestAgent;
  open: TestAgent;
  key: string;
  keyId: string;
  headers: Record<string, string>;
  modelId: string;
}

async function createModel(org: TestOrg, body: Record<string, unknown>): Promise<string> {
  const res = await org.owner.agent
    .post('/api/models')
    .set('X-Org-Id', org.id)
    .send({ baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-unused', ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

/** An org with a default model (no worker runs here), a strict and an open agent, and an API key. */
async function fixture(t: TestApp): Promise<Fixture> {
  const org = await createOrg(t);
  const modelId = await createModel(org, { name: 'default', model: 'default-model', isDefault: true });
  const agent = await createAgent(t, org, { manifest: MANIFEST });
  const open = await createAgent(t, org, { manifest: OPEN_MANIFEST });
  const { id, key } = await createApiKey(t, org);
  return { org, agent, open, key, keyId: id, headers: { Authorization: `Bearer ${key}` }, modelId };
}

describe('POST /api/agents/{scope}/{name}/run', () => {
  let t: TestApp;
  let leftovers: LeftoverCounter;
  let f: Fixture;

  const run = (path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const req = t.request().post(path).set(f.headers).set(headers);
    return body === undefined ? req : req.send(body as object);
  };
  /** Asserts the refusal left nothing behind: no run, no run file, no stored file, no job. */
  const expectNothingLeft = async (before: Leftovers, orgId = f.org.id) => expect(await leftovers.count(orgId)).toEqual(before);

  beforeAll(async () => {
    t = await startApp({ PROCESS_ROLE: 'api', RUN_RATE_LIMIT_PER_MINUTE: '100000', FILE_STORAGE_DIR: tempStorageDir() });
    leftovers = new LeftoverCounter(t);
    f = await fixture(t);
  });
  afterAll(async () => {
    await leftovers.close();
    await t.close();
  });

  describe('the documented minimal example and the answer per API version', () => {
    it('POST {} returns a run id (2026-03-21: 200, body exactly {runId}), stores a pending run and queues its job', async () => {
      const res = await run(`${f.open.path}/run`, {});
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(Object.keys(res.body)).toEqual(['runId']);
      expect(res.body.runId).toMatch(/^run_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['appstrate-version']).toBe(OLD);
      expect(res.headers['request-id']).toMatch(/^req_/);
      expect(res.headers['ratelimit-policy']).toBe('"run";q=100000;w=60');
      expect(res.headers.ratelimit).toMatch(/^"run";r=\d+;t=\d+$/);

      const [row] = await t.db.query('SELECT * FROM runs WHERE id = $1', [res.body.runId]);
      expect(row).toMatchObject({ status: 'pending', org_id: f.org.id, agent_ref: 'draft', agent_version: null, api_version: OLD, model: 'default-model', model_id: f.modelId });
      expect(row.input).toEqual({});
      const job = await leftovers.queue.getJob(res.body.runId);
      expect(job?.name).toBe('run');
      expect(job?.data).toEqual({ runId: res.body.runId, orgId: f.org.id });
      expect(await job?.getState()).toBe('waiting');
    });

    it('answers 201 + Location + the Run for 2026-06-11 (header), the same Run GET /api/runs/{id} returns', async () => {
      const res = await run(`${f.agent.path}/run`, { input: { ticket: 'Printer on fire' }, metadata: { ticketId: 'T-1' } }, { 'Appstrate-Version': NEW });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.headers.location).toBe(`/api/runs/${res.body.id}`);
      expect(res.headers['appstrate-version']).toBe(NEW);
      expect(res.body).toEqual({
        object: 'run',
        id: expect.stringMatching(/^run_/),
        status: 'pending',
        agent: { scope: f.agent.scope, name: f.agent.name, version: null, ref: 'draft' },
        input: { ticket: 'Printer on fire' },
        files: [],
        result: null,
        error: null,
        errorCode: null,
        metadata: { ticketId: 'T-1' },
        model: 'default-model',
        apiVersion: NEW,
        triggeredBy: { type: 'api_key', userId: f.org.owner.id, apiKeyId: f.keyId, endUserId: null },
        usage: { inputTokens: 0, outputTokens: 0 },
        cost: null,
        duration: null,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        startedAt: null,
        completedAt: null,
      });
      const read = await t.request().get(res.headers.location).set(f.headers);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(res.body);
    });

    it('follows the organization’s pinned version, and a header overrides the pin', async () => {
      const g = await fixture(t);
      const pin = await g.org.owner.agent.patch(`/api/orgs/${g.org.id}`).send({ apiVersion: NEW });
      expect(pin.status, JSON.stringify(pin.body)).toBe(200);
      const pinned = await t.request().post(`${g.open.path}/run`).set(g.headers).send({});
      expect(pinned.status).toBe(201);
      expect(pinned.headers.location).toBe(`/api/runs/${pinned.body.id}`);
      expect(pinned.body.apiVersion).toBe(NEW);
      const old = await t.request().post(`${g.open.path}/run`).set(g.headers).set('Appstrate-Version', OLD).send({});
      expect(old.status).toBe(200);
      expect(Object.keys(old.body)).toEqual(['runId']);
      const [row] = await t.db.query('SELECT api_version FROM runs WHERE id = $1', [old.body.runId]);
      expect(row.api_version).toBe(OLD);
    });

    it('accepts the scope percent-encoded (%40)', async () => {
      const res = await run(`/api/agents/${encodeURIComponent(f.open.scope)}/${f.open.name}/run`, {}, { 'Appstrate-Version': NEW });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.agent.scope).toBe(f.open.scope);
    });

    it('records who triggered the run: a session user, an API key, an end-user', async () => {
      const bySession = await f.org.owner.agent.post(`${f.open.path}/run`).set('X-Org-Id', f.org.id).set('Appstrate-Version', NEW).send({});
      expect(bySession.status).toBe(201);
      expect(bySession.body.triggeredBy).toEqual({ type: 'user', userId: f.org.owner.id, apiKeyId: null, endUserId: null });
      const eu = await f.org.owner.agent.post('/api/end-users').set('X-Org-Id', f.org.id).send({ name: 'Ada' });
      expect(eu.status).toBe(201);
      const byEndUser = await run(`${f.open.path}/run`, {}, { 'Appstrate-Version': NEW, 'Appstrate-User': eu.body.id });
      expect(byEndUser.status).toBe(201);
      expect(byEndUser.body.triggeredBy).toEqual({ type: 'end_user', userId: f.org.owner.id, apiKeyId: f.keyId, endUserId: eu.body.id });
    });

    it('accepts an empty body with or without a JSON Content-Type as "no input"', async () => {
      const bare = await run(`${f.open.path}/run`);
      expect(bare.status, JSON.stringify(bare.body)).toBe(200);
      const typed = await run(`${f.open.path}/run`, undefined, { 'Content-Type': 'application/json' });
      expect(typed.status, JSON.stringify(typed.body)).toBe(200);
    });
  });

  describe('?version= (step 8)', () => {
    let g: Fixture;
    beforeAll(async () => {
      g = await fixture(t);
      const v = (n: number) => ({ manifest: OPEN_MANIFEST, prompt: `prompt v${n}` });
      await publishVersion(t, g.org, g.open, '1.0.0', v(1));
      await publishVersion(t, g.org, g.open, '1.1.0', v(2));
      await publishVersion(t, g.org, g.open, '1.2.0', v(3));
      await publishVersion(t, g.org, g.open, '2.0.0-beta.1', v(4));
      const yank = await g.org.owner.agent.post(`${g.open.path}/versions/1.2.0/yank`).set('X-Org-Id', g.org.id);
      expect(yank.status).toBe(200);
      const tag = await g.org.owner.agent.put(`${g.open.path}/dist-tags/beta`).set('X-Org-Id', g.org.id).send({ version: '2.0.0-beta.1' });
      expect(tag.status).toBe(200);
      const live = await g.org.owner.agent.put(g.open.path).set('X-Org-Id', g.org.id).send({ prompt: 'live prompt' });
      expect(live.status).toBe(200);
    });

    const runAt = (query: string) => t.request().post(`${g.open.path}/run${query}`).set(g.headers).set('Appstrate-Version', NEW).send({});
    const promptOf = async (runId: string) => (await t.db.query('SELECT prompt FROM runs WHERE id = $1', [runId]))[0].prompt;

    it.each([
      ['', null, 'draft', 'live prompt'],
      ['?version=', null, 'draft', 'live prompt'],
      ['?version=1.0.0', '1.0.0', '1.0.0', 'prompt v1'],
      ['?version=1.2.0', '1.2.0', '1.2.0', 'prompt v3'],
      ['?version=latest', '1.1.0', '1.1.0', 'prompt v2'],
      ['?version=beta', '2.0.0-beta.1', '2.0.0-beta.1', 'prompt v4'],
      ['?version=%5E1.0', '1.1.0', '1.1.0', 'prompt v2'],
      ['?version=%3E%3D2.0.0-beta.0', '2.0.0-beta.1', '2.0.0-beta.1', 'prompt v4'],
    ])('%s runs version %s (ref %s) with its own prompt', async (query, version, ref, prompt) => {
      const res = await runAt(query);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.agent).toMatchObject({ version, ref });
      expect(await promptOf(res.body.id)).toBe(prompt);
    });

    it('answers 404 agent_version_not_found when nothing matches, leaving nothing behind', async () => {
      const before = await leftovers.count(g.org.id);
      for (const query of ['?version=9.9.9', '?version=%5E5', '?version=nightly']) {
        expectProblem(await runAt(query), 404, 'agent_version_not_found');
      }
      expect(await leftovers.count(g.org.id)).toEqual(before);
    });

    it('answers 400 naming version for a value that is no version, tag or range, or a repeated one', async () => {
      const before = await leftovers.count(g.org.id);
      expect(expectProblem(await runAt('?version=%21%21'), 400, 'invalid_request').param).toBe('version');
      expect(expectProblem(await runAt('?version=1.0.0&version=1.1.0'), 400, 'invalid_request').param).toBe('version');
      expect(await leftovers.count(g.org.id)).toEqual(before);
    });
  });

  describe('the order of the checks (section 5), each refusal leaving nothing behind', () => {
    it('authentication comes first (401 even with a bad path), then the API version, then the path', async () => {
      const before = await leftovers.count(f.org.id);
      expectProblem(await t.request().post('/api/agents/bad/BAD/run').send({}), 401, 'unauthorized');
      const version = await run('/api/agents/bad/BAD/run', {}, { 'Appstrate-Version': '2026-13-01' });
      expect(expectProblem(version, 400, 'invalid_api_version').param).toBe('Appstrate-Version');
      await expectNothingLeft(before);
    });

    it('refuses a bad scope or name with 400 naming it, before the rate limit (no RateLimit headers)', async () => {
      const before = await leftovers.count(f.org.id);
      const scope = await run(`/api/agents/acme/${f.open.name}/run`, {});
      expect(expectProblem(scope, 400, 'invalid_request').param).toBe('scope');
      expect(scope.headers['appstrate-version']).toBe(OLD);
      expect(scope.headers.ratelimit).toBeUndefined();
      const name = await run(`/api/agents/${f.open.scope}/Not_Valid/run`, {});
      expect(expectProblem(name, 400, 'invalid_request').param).toBe('name');
      const both = await run('/api/agents/acme/Not_Valid/run', {}, { 'Idempotency-Key': '' });
      expect(expectProblem(both, 400, 'invalid_request').param).toBe('scope');
      await expectNothingLeft(before);
    });

    it('checks Idempotency-Key (step 5) before the agent (step 6)', async () => {
      const res = await run(`${f.open.scope}/nope/run`.replace(/^/, '/api/agents/'), {}, { 'Idempotency-Key': 'has space' });
      expect(expectProblem(res, 400, 'invalid_idempotency_key').param).toBe('Idempotency-Key');
      expect(res.headers.ratelimit).toMatch(/^"run";r=\d+;t=\d+$/);
    });

    it('answers 404 agent_not_found for an unknown agent or another organization’s, even without agents:run', async () => {
      const before = await leftovers.count(f.org.id);
      const unknown = await run(`/api/agents/${f.open.scope}/does-not-exist/run`, {});
      expectProblem(unknown, 404, 'agent_not_found');
      expect(unknown.headers.ratelimit).toMatch(/^"run";r=\d+;t=\d+$/);
      const other = await fixture(t);
      expectProblem(await run(`${other.open.path}/run`, {}), 404, 'agent_not_found');
      const readOnly = await createApiKey(t, f.org, { scopes: ['agents:read', 'runs:read'] });
      const res = await t.request().post(`/api/agents/${f.open.scope}/does-not-exist/run`).set('Authorization', `Bearer ${readOnly.key}`).send({});
      expectProblem(res, 404, 'agent_not_found');
      await expectNothingLeft(before);
      expect(await leftovers.count(other.org.id)).toEqual({ runs: 0, runFiles: 0, files: before.files, jobs: 0 });
    });

    it('answers 403 without agents:run (a viewer, a key without the scope), before ?version= and the body', async () => {
      const before = await leftovers.count(f.org.id);
      const viewer = await addMember(t, f.org, 'viewer');
      const res = await viewer.agent.post(`${f.agent.path}/run?version=%21%21`).set('X-Org-Id', f.org.id).send({ unknown: 1 });
      expect(expectProblem(res, 403, 'forbidden').detail).toContain('agents:run');
      const key = await createApiKey(t, f.org, { scopes: ['agents:read', 'runs:read'] });
      const byKey = await t.request().post(`${f.agent.path}/run`).set('Authorization', `Bearer ${key.key}`).send({});
      expect(expectProblem(byKey, 403, 'forbidden').detail).toContain('agents:run');
      await expectNothingLeft(before);
    });

    it('resolves ?version= (step 8) before reading the body (step 9)', async () => {
      const res = await run(`${f.agent.path}/run?version=9.9.9`, { nope: true });
      expectProblem(res, 404, 'agent_version_not_found');
    });

    it('refuses a malformed JSON body with 400 invalid_request at step 9 (after the agent lookup)', async () => {
      const before = await leftovers.count(f.org.id);
      const bad = await run(`${f.agent.path}/run`, '{"input": ', { 'Content-Type': 'application/json' });
      expectProblem(bad, 400, 'invalid_request');
      const unknownAgent = await run(`/api/agents/${f.open.scope}/nope/run`, '{"input": ', { 'Content-Type': 'application/json' });
      expectProblem(unknownAgent, 404, 'agent_not_found');
      await expectNothingLeft(before);
    });

    it('checks the body (step 9) before the model (step 10)', async () => {
      const g = await fixture(t);
      const noModelAgent = await createAgent(t, g.org, { manifest: { ...OPEN_MANIFEST, model: 'missing' } });
      const before = await leftovers.count(g.org.id);
      const body = await t.request().post(`${noModelAgent.path}/run`).set(g.headers).send({ extra: 1 });
      expectProblem(body, 400, 'validation_failed');
      const model = await t.request().post(`${noModelAgent.path}/run`).set(g.headers).send({});
      expectProblem(model, 400, 'model_not_configured');
      expect(await leftovers.count(g.org.id)).toEqual(before);
    });
  });

  describe('the JSON body (step 9)', () => {
    const expectInvalid = async (res: supertest.Response, expected: Array<Record<string, unknown>>) => {
      const body = expectProblem(res, 400, 'validation_failed');
      expect(body.errors).toEqual(expect.arrayContaining(expected.map((e) => expect.objectContaining(e))));
      return body.errors as Array<Record<string, string>>;
    };

    it('refuses unknown fields with code unknown_field', async () => {
      const before = await leftovers.count(f.org.id);
      const res = await run(`${f.open.path}/run`, { input: {}, extra: 1, other: 'x' });
      const errors = await expectInvalid(res, [
        { field: 'extra', code: 'unknown_field' },
        { field: 'other', code: 'unknown_field' },
      ]);
      expect(errors).toHaveLength(2);
      await expectNothingLeft(before);
    });

    it.each([
      ['a JSON array', [1, 2], 'body'],
      ['a JSON string', '"text"', 'body'],
      ['an input that is not an object', { input: [1] }, 'input'],
      ['an input that is a string', { input: 'ticket' }, 'input'],
      ['a modelId that is not a string', { modelId: 42 }, 'modelId'],
      ['metadata that is not an object', { metadata: 'x' }, 'metadata'],
      ['metadata with more than 20 keys', { metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata'],
      ['a metadata key over 40 characters', { metadata: { ['k'.repeat(41)]: 'v' } }, 'metadata'],
      ['a metadata value over 500 characters', { metadata: { k: 'v'.repeat(501) } }, 'metadata'],
      ['a metadata value that is not a string', { metadata: { k: 1 } }, 'metadata'],
    ])('refuses %s with validation_failed', async (_label, body, field) => {
      const before = await leftovers.count(f.org.id);
      const res = await run(`${f.open.path}/run`, body, { 'Content-Type': 'application/json' });
      await expectInvalid(res, [{ field }]);
      await expectNothingLeft(before);
    });

    it('refuses text PostgreSQL cannot store (NUL, a lone surrogate) in input or metadata, naming each field; the refusal is kept for replay', async () => {
      const before = await leftovers.count(f.org.id);
      const body = { input: { note: 'a\u0000b', nested: { list: ['fine', '\ud800'] }, ['k\u0000']: 1 }, metadata: { k: 'x\u0000' } };
      const headers = { 'Idempotency-Key': `unstorable-${Date.now()}` };
      const res = await run(`${f.open.path}/run`, body, headers);
      const errors = await expectInvalid(res, [
        { field: 'input.note', code: 'invalid' },
        { field: 'input.nested.list.1', code: 'invalid' },
        { field: 'input.?', code: 'invalid' },
        { field: 'metadata.k', code: 'invalid' },
      ]);
      expect(errors).toHaveLength(4);
      const replay = await run(`${f.open.path}/run`, body, headers);
      expect(replay.status).toBe(400);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual(res.body);
      await expectNothingLeft(before);
    });

    it('accepts metadata at its limits', async () => {
      const metadata = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`${'k'.repeat(38)}${String(i).padStart(2, '0')}`, 'v'.repeat(500)]));
      const res = await run(`${f.open.path}/run`, { metadata }, { 'Appstrate-Version': NEW });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.metadata).toEqual(metadata);
    });

    it('validates the input against the full schema, one errors[] entry per problem', async () => {
      const before = await leftovers.count(f.org.id);
      const missing = await run(`${f.agent.path}/run`, {});
      await expectInvalid(missing, [{ field: 'input.ticket', code: 'invalid_input' }]);
      const many = await run(`${f.agent.path}/run`, { input: { ticket: 'ab', priority: 0, email: 'not-an-email', extra: true } });
      const errors = await expectInvalid(many, [
        { field: 'input.ticket', code: 'invalid_input' },
        { field: 'input.priority', code: 'invalid_input' },
        { field: 'input.email', code: 'invalid_input' },
        { field: 'input.extra', code: 'invalid_input' },
      ]);
      expect(errors.every((e) => typeof e.message === 'string' && !e.message.includes('not-an-email'))).toBe(true);
      await expectNothingLeft(before);
    });

    it('answers a catastrophic-backtracking pattern at once (patterns run in linear time)', async () => {
      const agent = await createAgent(t, f.org, {
        manifest: { input: { schema: { type: 'object', properties: { code: { type: 'string', pattern: '^(a+)+$' } } } } },
      });
      const before = await leftovers.count(f.org.id);
      // A backtracking engine would spin on this input for longer than any test timeout.
      const res = await run(`${agent.path}/run`, { input: { code: `${'a'.repeat(50_000)}!` } });
      await expectInvalid(res, [{ field: 'input.code', code: 'invalid_input' }]);
      await expectNothingLeft(before);
      const ok = await run(`${agent.path}/run`, { input: { code: 'aaaa' } });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    });

    it('answers validation_failed, not 500, when the input schema loops without end for this input', async () => {
      const loop = { if: { type: 'string' }, then: { $ref: '#/$defs/loop' } };
      const agent = await createAgent(t, f.org, {
        manifest: { input: { schema: { type: 'object', properties: { a: { $ref: '#/$defs/loop' } }, $defs: { loop } } } },
      });
      const before = await leftovers.count(f.org.id);
      const res = await run(`${agent.path}/run`, { input: { a: 'x' } });
      const [error] = await expectInvalid(res, [{ field: 'input', code: 'invalid_input' }]);
      expect(error.message).toContain('refers to itself without end');
      await expectNothingLeft(before);
      expect((await run(`${agent.path}/run`, { input: { a: 1 } })).status).toBe(200);
    });

    it('reports a file field filled in a JSON body as invalid input', async () => {
      const before = await leftovers.count(f.org.id);
      const res = await run(`${f.agent.path}/run`, { input: { ticket: 'abc', attachment: 'https://example.com/a.pdf' } });
      const errors = await expectInvalid(res, [{ field: 'input.attachment', code: 'invalid_input' }]);
      expect(errors).toHaveLength(1);
      await expectNothingLeft(before);
    });

    it('refuses other content types with a body, and a body without Content-Type, with 415', async () => {
      const before = await leftovers.count(f.org.id);
      const text = await run(`${f.open.path}/run`, 'ticket=1', { 'Content-Type': 'text/plain' });
      expectProblem(text, 415, 'unsupported_media_type');
      const form = await run(`${f.open.path}/run`, 'ticket=1', { 'Content-Type': 'application/x-www-form-urlencoded' });
      expectProblem(form, 415, 'unsupported_media_type');
      const bare = await rawPost(t, `${f.open.path}/run`, { ...f.headers, 'Content-Length': '2' }, '{}');
      expect(bare.status).toBe(415);
      expect(JSON.parse(bare.body).code).toBe('unsupported_media_type');
      await expectNothingLeft(before);
    });

    it('refuses a Content-Type that does not parse in the body step too, after authentication and the rate limit', async () => {
      const before = await leftovers.count(f.org.id);
      for (const type of ['json', 'application/json charset=utf-8']) {
        const anonymous = await t.request().post(`${f.open.path}/run`).set('Content-Type', type).send('{}');
        expectProblem(anonymous, 401, 'unauthorized');
        const refused = await run(`${f.open.path}/run`, '{}', { 'Content-Type': type });
        expect(expectProblem(refused, 415, 'unsupported_media_type').param).toBe('Content-Type');
        expect(refused.headers['ratelimit-policy']).toBeDefined();
      }
      await expectNothingLeft(before);
    });
  });

  describe('the model (step 10)', () => {
    let g: Fixture;
    let other: Fixture;
    let fastId: string;
    beforeAll(async () => {
      g = await fixture(t);
      other = await fixture(t);
      fastId = await createModel(g.org, { name: 'fast', model: 'fast-model' });
    });
    const runModel = (agent: TestAgent, body: unknown = {}) =>
      t.request().post(`${agent.path}/run`).set(g.headers).set('Appstrate-Version', NEW).send(body as object);

    it('uses modelId first, then the manifest’s model, then the org default', async () => {
      const named = await createAgent(t, g.org, { manifest: { ...OPEN_MANIFEST, model: 'fast' } });
      const byId = await runModel(named, { modelId: g.modelId });
      expect(byId.status).toBe(201);
      expect(byId.body.model).toBe('default-model');
      const byName = await runModel(named);
      expect(byName.body.model).toBe('fast-model');
      const [row] = await t.db.query('SELECT model_id FROM runs WHERE id = $1', [byName.body.id]);
      expect(row.model_id).toBe(fastId);
      const byDefault = await runModel(g.open);
      expect(byDefault.body.model).toBe('default-model');
    });

    it('answers 404 not_found naming modelId for another org’s model or a non-id', async () => {
      const before = await leftovers.count(g.org.id);
      for (const modelId of [other.modelId, 'not-a-uuid', '', '0193b2c4-1d2e-7f00-8a00-0123456789ab']) {
        expect(expectProblem(await runModel(g.open, { modelId }), 404, 'not_found').param).toBe('modelId');
      }
      expect(await leftovers.count(g.org.id)).toEqual(before);
    });

    it('answers 400 model_not_configured for a manifest model that does not exist, with no fallback to the default', async () => {
      const missing = await createAgent(t, g.org, { manifest: { ...OPEN_MANIFEST, model: 'gpt-missing' } });
      const before = await leftovers.count(g.org.id);
      const res = await runModel(missing);
      expect(expectProblem(res, 400, 'model_not_configured').detail).toContain('gpt-missing');
      expect(await leftovers.count(g.org.id)).toEqual(before);
    });

    it('answers 400 model_not_configured when the org has no default and the server none', async () => {
      const bare = await createOrg(t);
      const agent = await createAgent(t, bare, { manifest: OPEN_MANIFEST });
      const { key } = await createApiKey(t, bare);
      const res = await t.request().post(`${agent.path}/run`).set('Authorization', `Bearer ${key}`).send({});
      expectProblem(res, 400, 'model_not_configured');
      expect(await leftovers.count(bare.id)).toMatchObject({ runs: 0, runFiles: 0, jobs: 0 });
    });
  });

  describe('the organization’s concurrency cap (step 11)', () => {
    let capped: TestApp;
    let counter: LeftoverCounter;
    beforeAll(async () => {
      capped = await startApp({ PROCESS_ROLE: 'api', RUN_RATE_LIMIT_PER_MINUTE: '100000', ORG_MAX_CONCURRENT_RUNS: '3', FILE_STORAGE_DIR: tempStorageDir() });
      counter = new LeftoverCounter(capped);
    });
    afterAll(async () => {
      await counter.close();
      await capped.close();
    });

    it('refuses the run over the cap with 429 + retryAfter, counts only pending and running runs, and only this org', async () => {
      const g = await fixture(capped);
      const post = (fx: Fixture) => capped.request().post(`${fx.open.path}/run`).set(fx.headers).send({});
      for (let i = 0; i < 3; i++) expect((await post(g)).status).toBe(200);
      const before = await counter.count(g.org.id);
      const refused = await post(g);
      const body = expectProblem(refused, 429, 'org_run_concurrency_exceeded');
      expect(body.retryAfter).toBeGreaterThanOrEqual(1);
      expect(refused.headers['retry-after']).toBe(String(body.retryAfter));
      expect(refused.headers.ratelimit).toMatch(/^"run";r=\d+;t=\d+$/);
      expect(await counter.count(g.org.id)).toEqual(before);
      // The model (step 10) is checked before the cap (step 11).
      const noModel = await createAgent(capped, g.org, { manifest: { ...OPEN_MANIFEST, model: 'missing' } });
      expectProblem(await capped.request().post(`${noModel.path}/run`).set(g.headers).send({}), 400, 'model_not_configured');

      const other = await fixture(capped);
      expect((await post(other)).status).toBe(200);

      await capped.db.query(`UPDATE runs SET status = 'success' WHERE id = (SELECT id FROM runs WHERE org_id = $1 LIMIT 1)`, [g.org.id]);
      expect((await post(g)).status).toBe(200);
      await capped.db.query(`UPDATE runs SET status = 'running' WHERE org_id = $1 AND status = 'pending'`, [g.org.id]);
      expectProblem(await post(g), 429, 'org_run_concurrency_exceeded');
    });

    it('refuses a multipart run over the cap without keeping its staged file', async () => {
      const g = await fixture(capped);
      const fileAgent = await createAgent(capped, g.org, {
        manifest: { input: { schema: { type: 'object', properties: { doc: { type: 'string', format: 'uri', contentMediaType: 'text/plain' } } } } },
      });
      for (let i = 0; i < 3; i++) expect((await capped.request().post(`${g.open.path}/run`).set(g.headers).send({})).status).toBe(200);
      const before = await counter.count(g.org.id);
      const res = await capped.request().post(`${fileAgent.path}/run`).set(g.headers).attach('doc', Buffer.from('hello'), 'a.txt');
      expectProblem(res, 429, 'org_run_concurrency_exceeded');
      expect(await counter.count(g.org.id)).toEqual(before);
    });

    it('lets exactly as many racing requests through as there are free slots', async () => {
      for (let round = 0; round < 3; round++) {
        const g = await fixture(capped);
        // One slot already taken, so the race is for the last two.
        expect((await capped.request().post(`${g.open.path}/run`).set(g.headers).send({})).status).toBe(200);
        const results = await Promise.all(
          Array.from({ length: 15 }, () => capped.request().post(`${g.open.path}/run`).set(g.headers).send({})),
        );
        const statuses = results.map((r) => r.status);
        expect(statuses.filter((s) => s === 200)).toHaveLength(2);
        expect(statuses.filter((s) => s === 429)).toHaveLength(13);
        expect(await counter.count(g.org.id)).toMatchObject({ runs: 3, runFiles: 0, jobs: 3 });
        const ids = results.filter((r) => r.status === 200).map((r) => r.body.runId);
        const jobIds = (await counter.jobs(g.org.id)).map((j) => j.id);
        expect(jobIds).toEqual(expect.arrayContaining(ids));
      }
    });
  });

  describe('the server default model', () => {
    it('is used when the org has no model, and recorded with no model id', async () => {
      const app = await startApp({
        PROCESS_ROLE: 'api',
        FILE_STORAGE_DIR: tempStorageDir(),
        DEFAULT_MODEL_BASE_URL: 'http://127.0.0.1:9/v1',
        DEFAULT_MODEL_NAME: 'server-default-model',
        DEFAULT_MODEL_API_KEY: 'sk-server',
      });
      try {
        const org = await createOrg(app);
        const agent = await createAgent(app, org, { manifest: OPEN_MANIFEST });
        const { key } = await createApiKey(app, org);
        const res = await app.request().post(`${agent.path}/run`).set('Authorization', `Bearer ${key}`).set('Appstrate-Version', NEW).send({});
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        expect(res.body.model).toBe('server-default-model');
        const [row] = await app.db.query('SELECT model_id FROM runs WHERE id = $1', [res.body.id]);
        expect(row.model_id).toBeNull();
      } finally {
        await app.close();
      }
    });
  });

  describe('OpenAPI', () => {
    it('documents both request bodies, every header, ?version=, both success shapes and the error answers', async () => {
      const doc = (await t.request().get('/api/openapi.json')).body;
      const op = doc.paths['/api/agents/{scope}/{name}/run'].post;
      expect(Object.keys(op.requestBody.content).sort()).toEqual(['application/json', 'multipart/form-data']);
      expect(op.requestBody.content['multipart/form-data'].schema.additionalProperties).toMatchObject({ format: 'binary' });
      const params = op.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`);
      expect(params).toEqual(
        expect.arrayContaining(['path:scope', 'path:name', 'query:version', 'header:X-Org-Id', 'header:Appstrate-User', 'header:Appstrate-Version', 'header:Idempotency-Key']),
      );
      expect(op.responses['200'].content['application/json'].schema.$ref).toMatch(/RunCreatedLegacyDto$/);
      expect(op.responses['201'].content['application/json'].schema.$ref).toMatch(/RunDto$/);
      expect(Object.keys(op.responses['201'].headers)).toEqual(expect.arrayContaining(['Location', 'RateLimit', 'RateLimit-Policy', 'Request-Id', 'Appstrate-Version']));
      for (const status of ['400', '401', '403', '404', '409', '413', '415', '422', '429', '503']) {
        const examples = op.responses[status].content['application/problem+json'].examples;
        expect(Object.keys(examples).length, status).toBeGreaterThan(0);
      }
      const codes = (status: string) =>
        Object.values(op.responses[status].content['application/problem+json'].examples).map((e) => (e as { value: { code: string } }).value.code);
      expect(codes('404')).toEqual(expect.arrayContaining(['agent_not_found', 'agent_version_not_found', 'not_found']));
      expect(codes('429')).toEqual(expect.arrayContaining(['rate_limited', 'org_run_concurrency_exceeded']));
      expect(codes('400')).toEqual(expect.arrayContaining(['invalid_request', 'validation_failed', 'model_not_configured', 'invalid_idempotency_key']));
    });
  });

  describe('when the queue cannot be reached', () => {
    it('answers 503 service_unavailable and leaves no pending run, file or job', async () => {
      const app = await startApp({ PROCESS_ROLE: 'api', FILE_STORAGE_DIR: tempStorageDir() });
      const counter = new LeftoverCounter(app);
      try {
        const g = await fixture(app);
        const fileAgent = await createAgent(app, g.org, {
          manifest: { input: { schema: { type: 'object', properties: { doc: { type: 'string', format: 'uri', contentMediaType: 'text/plain' } } } } },
        });
        const before = await counter.count(g.org.id);
        const { getQueueToken } = await import('@nestjs/bullmq');
        const { RUNS_QUEUE } = await import('../src/runs/runs-queue.js');
        await app.app.get(getQueueToken(RUNS_QUEUE), { strict: false }).close();

        const json = await app.request().post(`${g.open.path}/run`).set(g.headers).send({});
        const body = expectProblem(json, 503, 'service_unavailable');
        expect(body.retryAfter).toBeGreaterThanOrEqual(1);
        expect(json.headers['retry-after']).toBeDefined();
        const multipart = await app
          .request()
          .post(`${fileAgent.path}/run`)
          .set(g.headers)
          .attach('doc', Buffer.from('hello'), { filename: 'a.txt', contentType: 'text/plain' });
        expectProblem(multipart, 503, 'service_unavailable');
        expect(await counter.count(g.org.id)).toEqual(before);
        const pending = await app.db.query(`SELECT count(*)::int AS n FROM runs WHERE org_id = $1 AND status = 'pending'`, [g.org.id]);
        expect(pending[0].n).toBe(0);
      } finally {
        await counter.close();
        await app.close();
      }
    });
  });
});

/** A POST written by hand, to send a body with no Content-Type at all (clients add one). */
async function rawPost(t: TestApp, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  const port = await t.port();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
