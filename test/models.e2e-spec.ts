import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelsService } from '../src/models/models.service.js';
import { startApp, type TestApp } from './support/app.js';
import { addMember, createApiKey, createOrg, expectProblem, type TestOrg } from './support/factories.js';

const model = (over: Record<string, unknown> = {}) => ({
  name: `m-${Math.random().toString(36).slice(2, 8)}`,
  baseUrl: 'http://127.0.0.1:11434/v1',
  apiKey: 'sk-test-SECRET-KEY',
  model: 'gpt-4o-mini',
  ...over,
});

/** API.md section 2: POST/GET/DELETE /api/models. */
describe('models', () => {
  let t: TestApp;
  let org: TestOrg;

  beforeAll(async () => {
    t = await startApp();
    org = await createOrg(t);
  });
  afterAll(() => t.close());

  const api = (o: TestOrg = org) => ({
    post: (body: unknown) => o.owner.agent.post('/api/models').set('X-Org-Id', o.id).send(body as object),
    get: (path = '') => o.owner.agent.get(`/api/models${path}`).set('X-Org-Id', o.id),
    del: (id: string) => o.owner.agent.delete(`/api/models/${id}`).set('X-Org-Id', o.id),
  });
  const count = async (orgId: string) => (await t.db.query(`SELECT count(*)::int AS c FROM models WHERE org_id = $1`, [orgId]))[0].c as number;

  it('creates a model, encrypts its API key at rest and never returns it', async () => {
    const res = await api().post(model({ name: 'fast', isDefault: true, inputPricePerMTok: 0.15, outputPricePerMTok: 0.6 }));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'fast',
      baseUrl: 'http://127.0.0.1:11434/v1',
      model: 'gpt-4o-mini',
      isDefault: true,
      inputPricePerMTok: 0.15,
      outputPricePerMTok: 0.6,
    });
    expect(JSON.stringify(res.body)).not.toContain('SECRET-KEY');
    expect(res.body).not.toHaveProperty('apiKey');
    const [row] = await t.db.query(`SELECT api_key_encrypted FROM models WHERE id = $1`, [res.body.id]);
    expect(row.api_key_encrypted).not.toContain('SECRET-KEY');
    const list = await api().get();
    expect(JSON.stringify(list.body)).not.toContain('SECRET-KEY');
    const one = await api().get(`/${res.body.id}`);
    expect(one.body).toEqual(res.body);

    // The service decrypts it for the execution side.
    const service = t.app.get(ModelsService);
    const stored = await service.findByName(org.id, 'fast');
    expect(stored && service.decryptApiKey(stored)).toBe('sk-test-SECRET-KEY');
    expect((await service.findDefault(org.id))?.id).toBe(res.body.id);
    expect((await service.findById(org.id, res.body.id))?.name).toBe('fast');
    expect(await service.findById(org.id, 'not-a-uuid')).toBeNull();
    expect(await service.findByName(org.id, 'nope')).toBeNull();
  });

  it('defaults isDefault to false and prices to null', async () => {
    const res = await api().post(model());
    expect(res.body).toMatchObject({ isDefault: false, inputPricePerMTok: null, outputPricePerMTok: null });
  });

  it('keeps one default per org: a new default replaces the old one', async () => {
    const o = await createOrg(t);
    const a = (await api(o).post(model({ isDefault: true }))).body;
    const b = (await api(o).post(model({ isDefault: true }))).body;
    const list = (await api(o).get()).body.data as Array<{ id: string; isDefault: boolean }>;
    expect(list.filter((m) => m.isDefault).map((m) => m.id)).toEqual([b.id]);
    expect(list.find((m) => m.id === a.id)?.isDefault).toBe(false);
  });

  it('stays with exactly one default when several defaults are created at once', async () => {
    const o = await createOrg(t);
    const results = await Promise.all(Array.from({ length: 5 }, () => api(o).post(model({ isDefault: true }))));
    for (const r of results) expect(r.status).toBe(201);
    const [{ c }] = await t.db.query(`SELECT count(*)::int AS c FROM models WHERE org_id = $1 AND is_default`, [o.id]);
    expect(c).toBe(1);
  });

  it('keeps names unique per org (409) but not across orgs', async () => {
    const o = await createOrg(t);
    await api(o).post(model({ name: 'shared', isDefault: true })).expect(201);
    expectProblem(await api(o).post(model({ name: 'shared', isDefault: true })), 409, 'conflict');
    // The failed request did not steal the default.
    expect((await api(o).get()).body.data).toEqual([expect.objectContaining({ name: 'shared', isDefault: true })]);
    expect((await api().post(model({ name: 'shared' }))).status).toBe(201);
  });

  it('validates the body with validation_failed, never echoing the API key', async () => {
    const before = await count(org.id);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...model(), name: undefined }, 'name'],
      [{ ...model(), name: '' }, 'name'],
      [{ ...model(), name: ' padded ' }, 'name'],
      [{ ...model(), name: 'x'.repeat(101) }, 'name'],
      [{ ...model(), baseUrl: undefined }, 'baseUrl'],
      [{ ...model(), baseUrl: 'not a url' }, 'baseUrl'],
      [{ ...model(), baseUrl: 'ftp://example.com/v1' }, 'baseUrl'],
      [{ ...model(), baseUrl: 'file:///etc/passwd' }, 'baseUrl'],
      [{ ...model(), baseUrl: 'http://user:pw@example.com/v1' }, 'baseUrl'],
      [{ ...model(), baseUrl: 'https://example.com/v1?x=1' }, 'baseUrl'],
      [{ ...model(), baseUrl: 'https://example.com/v1#frag' }, 'baseUrl'],
      [{ ...model(), apiKey: undefined }, 'apiKey'],
      [{ ...model(), apiKey: 12345 }, 'apiKey'],
      [{ ...model(), model: '' }, 'model'],
      [{ ...model(), isDefault: 'yes' }, 'isDefault'],
      [{ ...model(), inputPricePerMTok: -1 }, 'inputPricePerMTok'],
      [{ ...model(), outputPricePerMTok: '0.5' }, 'outputPricePerMTok'],
      [{ ...model(), extra: 'field' }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const res = await api().post(body);
      const problem = expectProblem(res, 400, 'validation_failed');
      expect((problem.errors as Array<{ field: string }>).map((e) => e.field), field).toContain(field);
      expect(JSON.stringify(problem)).not.toContain('SECRET-KEY');
      expect(JSON.stringify(problem)).not.toContain('user:pw');
    }
    expect(await count(org.id)).toBe(before);
  });

  it('allows private-network base URLs by default', async () => {
    for (const baseUrl of ['http://localhost:11434/v1', 'http://10.0.0.5/v1', 'http://[::1]:8080/v1', 'http://ollama:11434/v1']) {
      expect((await api().post(model({ baseUrl }))).status, baseUrl).toBe(201);
    }
  });

  it('lists newest first with cursor paging', async () => {
    const o = await createOrg(t);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await api(o).post(model())).body.id);
    const p1 = await api(o).get('?limit=2');
    expect(p1.body.data.map((m: { id: string }) => m.id)).toEqual([ids[2], ids[1]]);
    const p2 = await api(o).get(`?limit=2&cursor=${p1.body.nextCursor}`);
    expect(p2.body).toMatchObject({ hasMore: false, nextCursor: null });
    expect(p2.body.data.map((m: { id: string }) => m.id)).toEqual([ids[0]]);
    expect(expectProblem(await api(o).get('?limit=x'), 400, 'invalid_request').param).toBe('limit');
  });

  it('deletes with 204, then 404; another org’s model is 404 and survives', async () => {
    const o = await createOrg(t);
    const mine = (await api(o).post(model({ isDefault: true }))).body.id;
    const theirs = (await api().post(model())).body.id;
    expectProblem(await api(o).del(theirs), 404, 'not_found');
    expectProblem(await api(o).get(`/${theirs}`), 404, 'not_found');
    expect((await api(o).get()).body.data.map((m: { id: string }) => m.id)).toEqual([mine]);
    expect((await api().get(`/${theirs}`)).status).toBe(200);
    await api(o).del(mine).expect(204);
    expectProblem(await api(o).del(mine), 404, 'not_found');
    expect(expectProblem(await api(o).del('nope'), 400, 'invalid_request').param).toBe('id');
    expect(await t.app.get(ModelsService).findDefault(o.id)).toBeNull();
  });

  it('follows the permission table: keys and members read, admins write', async () => {
    const o = await createOrg(t);
    const member = await addMember(t, o, 'member');
    const admin = await addMember(t, o, 'admin');
    const { key } = await createApiKey(t, o);
    expect((await member.agent.get('/api/models').set('X-Org-Id', o.id)).status).toBe(200);
    expect((await t.request().get('/api/models').set('Authorization', `Bearer ${key}`)).status).toBe(200);
    expect(expectProblem(await member.agent.post('/api/models').set('X-Org-Id', o.id).send(model()), 403, 'forbidden').detail).toContain('models:write');
    const id = (await admin.agent.post('/api/models').set('X-Org-Id', o.id).send(model())).body.id;
    expect(expectProblem(await t.request().delete(`/api/models/${id}`).set('Authorization', `Bearer ${key}`), 403, 'forbidden').detail).toContain('models:write');
    expect(await count(o.id)).toBe(1);
  });
});

describe('models with ALLOW_PRIVATE_MODEL_URLS=false', () => {
  let t: TestApp;
  let org: TestOrg;

  beforeAll(async () => {
    t = await startApp({ ALLOW_PRIVATE_MODEL_URLS: 'false' });
    org = await createOrg(t);
  });
  afterAll(() => t.close());

  it('refuses loopback and private hosts with 400 validation_failed on baseUrl', async () => {
    for (const baseUrl of [
      'http://127.0.0.1:11434/v1',
      'http://localhost:8080/v1',
      'http://api.localhost/v1',
      'http://10.1.2.3/v1',
      'http://172.16.0.1/v1',
      'http://192.168.1.10/v1',
      'http://169.254.169.254/latest',
      'http://0.0.0.0/v1',
      'http://[::1]/v1',
      'http://[::ffff:127.0.0.1]/v1',
      'http://[fd00::1]/v1',
      'http://2130706433/v1',
      'http://0x7f.1/v1',
      'http://ollama:11434/v1',
    ]) {
      const res = await org.owner.agent.post('/api/models').set('X-Org-Id', org.id).send(model({ baseUrl }));
      const problem = expectProblem(res, 400, 'validation_failed');
      expect(problem.errors, baseUrl).toEqual([expect.objectContaining({ field: 'baseUrl', code: 'private_host' })]);
    }
    const [{ c }] = await t.db.query(`SELECT count(*)::int AS c FROM models WHERE org_id = $1`, [org.id]);
    expect(c).toBe(0);
  });

  it('accepts a public address', async () => {
    const res = await org.owner.agent.post('/api/models').set('X-Org-Id', org.id).send(model({ baseUrl: 'https://8.8.8.8/v1' }));
    expect(res.status).toBe(201);
  });
});
