import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAgent, type TestAgent } from './support/agents.js';
import { addMember, createApiKey, createOrg, expectProblem, type TestOrg } from './support/factories.js';
import { tempStorageDir } from './support/run-leftovers.js';

const NEW = '2026-06-11';
const OPEN_MANIFEST = { input: { schema: { type: 'object', properties: { ticket: { type: 'string' } } } } };
const RUN_KEYS = [
  'object', 'id', 'status', 'agent', 'input', 'files', 'result', 'error', 'errorCode', 'metadata', 'model', 'apiVersion',
  'triggeredBy', 'usage', 'cost', 'duration', 'createdAt', 'startedAt', 'completedAt',
];

interface World {
  org: TestOrg;
  a: TestAgent;
  b: TestAgent;
  key: string;
  headers: Record<string, string>;
  endUsers: [string, string];
  /** Run ids oldest first: 3 of a, 2 of b, 1 of a as end-user 0, 1 of a as end-user 1. */
  runs: string[];
}

describe('reading runs', () => {
  let t: TestApp;
  let w: World;
  let other: World;

  const get = (path: string, headers = w.headers) => t.request().get(path).set(headers);
  const ids = (body: { data: Array<{ id: string }> }) => body.data.map((r) => r.id);

  async function world(): Promise<World> {
    const org = await createOrg(t);
    const model = await org.owner.agent
      .post('/api/models')
      .set('X-Org-Id', org.id)
      .send({ name: 'default', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-unused', model: 'default-model', isDefault: true });
    expect(model.status).toBe(201);
    const a = await createAgent(t, org, { manifest: OPEN_MANIFEST });
    const b = await createAgent(t, org, { manifest: OPEN_MANIFEST });
    const { key } = await createApiKey(t, org);
    const headers = { Authorization: `Bearer ${key}` };
    const endUsers: string[] = [];
    for (const name of ['Ada', 'Bob']) {
      const res = await org.owner.agent.post('/api/end-users').set('X-Org-Id', org.id).send({ name });
      expect(res.status).toBe(201);
      endUsers.push(res.body.id);
    }
    const runs: string[] = [];
    const start = async (agent: TestAgent, extra: Record<string, string> = {}) => {
      const res = await t.request().post(`${agent.path}/run`).set(headers).set(extra).send({ input: { ticket: `t${runs.length}` } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      runs.push(res.body.runId);
    };
    for (const agent of [a, a, a, b, b]) await start(agent);
    await start(a, { 'Appstrate-User': endUsers[0] });
    await start(a, { 'Appstrate-User': endUsers[1] });
    return { org, a, b, key, headers, endUsers: endUsers as [string, string], runs };
  }

  beforeAll(async () => {
    t = await startApp({ PROCESS_ROLE: 'api', RUN_RATE_LIMIT_PER_MINUTE: '100000', FILE_STORAGE_DIR: tempStorageDir() });
    w = await world();
    other = await world();
  });
  afterAll(() => t.close());

  describe('GET /api/runs/{runId}', () => {
    it('answers the Run resource in its exact shape', async () => {
      const res = await get(`/api/runs/${w.runs[0]}`);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual([...RUN_KEYS].sort());
      expect(res.body).toMatchObject({ object: 'run', id: w.runs[0], status: 'pending', input: { ticket: 't0' }, files: [], apiVersion: '2026-03-21' });
      expect(Object.keys(res.body.agent).sort()).toEqual(['name', 'ref', 'scope', 'version']);
      expect(Object.keys(res.body.triggeredBy).sort()).toEqual(['apiKeyId', 'endUserId', 'type', 'userId']);
      expect(res.body.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
    });

    it('shows duration, usage, result and error as the worker wrote them', async () => {
      await t.db.query(
        `UPDATE runs SET status = 'success', result = '{"output": {"priority": "high"}}', input_tokens = 12, output_tokens = 5, cost = 0.0001,
           duration_ms = 1234, started_at = now(), completed_at = now() WHERE id = $1`,
        [w.runs[1]],
      );
      await t.db.query(`UPDATE runs SET status = 'failed', error = 'The model failed', error_code = 'model_error', duration_ms = 10, completed_at = now() WHERE id = $1`, [w.runs[2]]);
      const ok = await get(`/api/runs/${w.runs[1]}`);
      expect(ok.body).toMatchObject({ status: 'success', result: { output: { priority: 'high' } }, usage: { inputTokens: 12, outputTokens: 5 }, cost: 0.0001, duration: 1234, error: null });
      expect(ok.body.startedAt).toMatch(/Z$/);
      const failed = await get(`/api/runs/${w.runs[2]}`);
      expect(failed.body).toMatchObject({ status: 'failed', result: null, error: 'The model failed', errorCode: 'model_error', duration: 10 });
    });

    it('answers 404 run_not_found for malformed, unknown and other organizations’ run ids', async () => {
      for (const id of ['nope', 'run_123', 'run_not-a-uuid', `run_${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}`, other.runs[0]]) {
        expectProblem(await get(`/api/runs/${encodeURIComponent(id)}`), 404, 'run_not_found');
      }
    });

    it('with Appstrate-User, sees only that end-user’s runs', async () => {
      const asAda = { ...w.headers, 'Appstrate-User': w.endUsers[0] };
      expect((await get(`/api/runs/${w.runs[5]}`, asAda)).status).toBe(200);
      expectProblem(await get(`/api/runs/${w.runs[6]}`, asAda), 404, 'run_not_found');
      expectProblem(await get(`/api/runs/${w.runs[0]}`, asAda), 404, 'run_not_found');
      expect((await get(`/api/runs/${w.runs[6]}`)).status).toBe(200);
    });

    it('needs runs:read (a viewer has it; a key without it is refused)', async () => {
      const viewer = await addMember(t, w.org, 'viewer');
      expect((await viewer.agent.get(`/api/runs/${w.runs[0]}`).set('X-Org-Id', w.org.id)).status).toBe(200);
      const noRead = await createApiKey(t, w.org, { scopes: ['agents:run'] });
      const res = await get(`/api/runs/${w.runs[0]}`, { Authorization: `Bearer ${noRead.key}` });
      expect(expectProblem(res, 403, 'forbidden').detail).toContain('runs:read');
      expectProblem(await t.request().get(`/api/runs/${w.runs[0]}`), 401, 'unauthorized');
    });
  });

  describe('GET /api/runs', () => {
    it('lists the organization’s runs newest first, and only them', async () => {
      const res = await get('/api/runs');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ object: 'list', hasMore: false, nextCursor: null });
      expect(ids(res.body)).toEqual([...w.runs].reverse());
      expect(Object.keys(res.body.data[0]).sort()).toEqual([...RUN_KEYS].sort());
    });

    it('pages with limit and cursor through every run exactly once', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await get(`/api/runs?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.data.length).toBeLessThanOrEqual(3);
        seen.push(...ids(res.body));
        expect(res.body.hasMore).toBe(res.body.nextCursor !== null);
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...w.runs].reverse());
    });

    it('filters by agent (@scope/name, also %40), status (one or several) and end-user', async () => {
      const ofA = [w.runs[6], w.runs[5], w.runs[2], w.runs[1], w.runs[0]];
      expect(ids((await get(`/api/runs?agent=${w.a.scope}/${w.a.name}`)).body)).toEqual(ofA);
      expect(ids((await get(`/api/runs?agent=${encodeURIComponent(`${w.a.scope}/${w.a.name}`)}`)).body)).toEqual(ofA);
      expect(ids((await get(`/api/runs?status=success`)).body)).toEqual([w.runs[1]]);
      expect(ids((await get(`/api/runs?status=success,failed`)).body)).toEqual([w.runs[2], w.runs[1]]);
      expect(ids((await get(`/api/runs?endUser=${w.endUsers[1]}`)).body)).toEqual([w.runs[6]]);
      expect(ids((await get(`/api/runs?agent=${w.b.scope}/${w.b.name}&status=pending`)).body)).toEqual([w.runs[4], w.runs[3]]);
    });

    it('answers an empty list for well-formed filters that match nothing', async () => {
      for (const query of [
        `agent=${w.a.scope}/does-not-exist`,
        `agent=${other.a.scope}/${other.a.name}`,
        `endUser=${other.endUsers[0]}`,
        'status=timeout',
      ]) {
        const res = await get(`/api/runs?${query}`);
        expect(res.status, query).toBe(200);
        expect(res.body).toEqual({ object: 'list', data: [], hasMore: false, nextCursor: null });
      }
    });

    it.each([
      ['agent=acme/triage', 'agent'],
      ['agent=@acme', 'agent'],
      ['agent=@Acme/x', 'agent'],
      ['status=done', 'status'],
      ['status=pending,', 'status'],
      ['status=pending&status=running', 'status'],
      ['endUser=user_1', 'endUser'],
      ['endUser=eu_123', 'endUser'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=garbage!', 'cursor'],
      ['cursor=WyJ4IiwieSJd', 'cursor'],
    ])('refuses ?%s with 400 naming %s', async (query, param) => {
      expect(expectProblem(await get(`/api/runs?${query}`), 400, 'invalid_request').param).toBe(param);
    });

    it('with Appstrate-User, lists only that end-user’s runs', async () => {
      const asAda = { ...w.headers, 'Appstrate-User': w.endUsers[0] };
      expect(ids((await get('/api/runs', asAda)).body)).toEqual([w.runs[5]]);
      expect(ids((await get(`/api/runs?endUser=${w.endUsers[1]}`, asAda)).body)).toEqual([]);
    });
  });

  describe('GET /api/agents/{scope}/{name}/runs', () => {
    it('lists one agent’s runs, newest first, with the same filters and paging', async () => {
      const res = await get(`${w.b.path}/runs`);
      expect(res.status).toBe(200);
      expect(ids(res.body)).toEqual([w.runs[4], w.runs[3]]);
      expect(ids((await get(`/api/agents/${encodeURIComponent(w.a.scope)}/${w.a.name}/runs?status=pending`)).body)).toEqual([w.runs[6], w.runs[5], w.runs[0]]);
      const first = await get(`${w.a.path}/runs?limit=2`);
      expect(first.body.hasMore).toBe(true);
      const second = await get(`${w.a.path}/runs?limit=2&cursor=${first.body.nextCursor}`);
      expect([...ids(first.body), ...ids(second.body)]).toEqual([w.runs[6], w.runs[5], w.runs[2], w.runs[1]]);
      expect(ids((await get(`${w.a.path}/runs`, { ...w.headers, 'Appstrate-User': w.endUsers[1] })).body)).toEqual([w.runs[6]]);
    });

    it('answers 404 agent_not_found for an unknown or another organization’s agent, and 400 for a bad path or filter', async () => {
      expectProblem(await get(`/api/agents/${w.a.scope}/nope/runs`), 404, 'agent_not_found');
      expectProblem(await get(`${other.a.path}/runs`), 404, 'agent_not_found');
      expect(expectProblem(await get(`/api/agents/acme/${w.a.name}/runs`), 400, 'invalid_request').param).toBe('scope');
      expect(expectProblem(await get(`${w.a.path}/runs?status=nope`), 400, 'invalid_request').param).toBe('status');
    });
  });
});
