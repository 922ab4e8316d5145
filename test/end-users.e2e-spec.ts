import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEndUserId } from '../src/common/ids.js';
import { startApp, type TestApp } from './support/app.js';
import { addMember, createApiKey, createOrg, expectProblem, type TestOrg } from './support/factories.js';

/** API.md section 2: POST/GET /api/end-users, GET /api/end-users/{id}. */
describe('end-users', () => {
  let t: TestApp;
  let org: TestOrg;
  let key: string;

  beforeAll(async () => {
    t = await startApp();
    org = await createOrg(t);
    key = (await createApiKey(t, org)).key;
  });
  afterAll(() => t.close());

  const api = () => t.request().set('Authorization', `Bearer ${key}`);
  const count = async (orgId: string) =>
    (await t.db.query(`SELECT count(*)::int AS count FROM end_users WHERE org_id = $1`, [orgId]))[0].count as number;

  it('creates an end-user with an eu_<uuidv7> id and reads it back', async () => {
    const body = { externalId: 'cust-1', name: 'Ada Lovelace', email: 'ada@example.com', metadata: { plan: 'pro', region: 'eu' } };
    const res = await api().post('/api/end-users').send(body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject(body);
    expect(res.body.id).toMatch(/^eu_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.body.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const read = await api().get(`/api/end-users/${res.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
    // A session works too.
    const viaSession = await org.owner.agent.get(`/api/end-users/${res.body.id}`).set('X-Org-Id', org.id);
    expect(viaSession.body.id).toBe(res.body.id);
  });

  it('accepts an empty body: every field is optional', async () => {
    const res = await api().post('/api/end-users').send({});
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ externalId: null, name: null, email: null, metadata: {} });
    expect((await api().post('/api/end-users')).status).toBe(201);
  });

  it('keeps externalId unique per organization (409), but not across organizations', async () => {
    await api().post('/api/end-users').send({ externalId: 'dup' }).expect(201);
    const before = await count(org.id);
    expectProblem(await api().post('/api/end-users').send({ externalId: 'dup', name: 'Other' }), 409, 'conflict');
    expect(await count(org.id)).toBe(before);
    const other = await createOrg(t);
    const otherKey = (await createApiKey(t, other)).key;
    expect((await t.request().post('/api/end-users').set('Authorization', `Bearer ${otherKey}`).send({ externalId: 'dup' })).status).toBe(201);
  });

  it('creates exactly one end-user when the same externalId races', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => api().post('/api/end-users').send({ externalId: 'race' })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 201)) expectProblem(r, 409, 'conflict');
  });

  it('enforces the metadata limits and field rules with validation_failed, never echoing values', async () => {
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']));
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ metadata: many }, 'metadata'],
      [{ metadata: { ['k'.repeat(41)]: 'v' } }, 'metadata'],
      [{ metadata: { k: 'SECRET-VALUE'.repeat(50) } }, 'metadata'],
      [{ metadata: { k: 1 } }, 'metadata'],
      [{ metadata: { k: { nested: 'x' } } }, 'metadata'],
      [{ metadata: ['a'] }, 'metadata'],
      [{ metadata: 'SECRET-VALUE' }, 'metadata'],
      // Never dropped silently (Nest's pipe would delete it): refused, naming the key.
      [JSON.parse('{"metadata": {"constructor": "SECRET-VALUE"}}'), 'metadata.constructor'],
      [{ externalId: '' }, 'externalId'],
      [{ externalId: 'x'.repeat(256) }, 'externalId'],
      [{ externalId: 12 }, 'externalId'],
      [{ email: 'SECRET-VALUE-not-an-email' }, 'email'],
      [{ name: 'x'.repeat(201) }, 'name'],
      [{ SECRET_FIELD: 'SECRET-VALUE' }, 'SECRET_FIELD'],
    ];
    const before = await count(org.id);
    for (const [body, field] of cases) {
      const res = await api().post('/api/end-users').send(body);
      const problem = expectProblem(res, 400, 'validation_failed');
      expect((problem.errors as Array<{ field: string }>).map((e) => e.field)).toContain(field);
      expect(JSON.stringify(problem)).not.toContain('SECRET-VALUE');
    }
    expect(await count(org.id)).toBe(before);
    // The limits themselves are allowed.
    const atLimit = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`${'k'.repeat(38)}${String(i).padStart(2, '0')}`, 'v'.repeat(500)]));
    expect((await api().post('/api/end-users').send({ metadata: atLimit })).status).toBe(201);
  });

  it('lists newest first with cursor paging and an externalId filter', async () => {
    const o = await createOrg(t);
    const k = (await createApiKey(t, o)).key;
    const mk = async (externalId: string) =>
      (await t.request().post('/api/end-users').set('Authorization', `Bearer ${k}`).send({ externalId })).body.id as string;
    const ids = [await mk('a'), await mk('b'), await mk('c')];
    const get = (q: string) => t.request().get(`/api/end-users${q}`).set('Authorization', `Bearer ${k}`);
    const page1 = await get('?limit=2');
    expect(page1.body).toMatchObject({ object: 'list', hasMore: true });
    expect(page1.body.data.map((u: { id: string }) => u.id)).toEqual([ids[2], ids[1]]);
    const page2 = await get(`?limit=2&cursor=${page1.body.nextCursor}`);
    expect(page2.body).toMatchObject({ hasMore: false, nextCursor: null });
    expect(page2.body.data.map((u: { id: string }) => u.id)).toEqual([ids[0]]);
    expect((await get('')).body.data).toHaveLength(3);
    expect((await get('?externalId=b')).body.data.map((u: { id: string }) => u.id)).toEqual([ids[1]]);
    expect((await get('?externalId=zzz')).body).toEqual({ object: 'list', data: [], hasMore: false, nextCursor: null });
    for (const [q, param] of [
      ['?limit=0', 'limit'],
      ['?limit=101', 'limit'],
      ['?limit=-1', 'limit'],
      ['?limit=ten', 'limit'],
      ['?limit=1&limit=2', 'limit'],
      ['?cursor=not*a*cursor', 'cursor'],
      [`?cursor=${Buffer.from('["2020-01-01T00:00:00.000Z","not-an-eu-id"]').toString('base64url')}`, 'cursor'],
      [`?cursor=${Buffer.from('["yesterday","eu_x"]').toString('base64url')}`, 'cursor'],
      ['?externalId=', 'externalId'],
      ['?externalId=a&externalId=b', 'externalId'],
      ['?externalId=a%00b', 'externalId'],
    ]) {
      expect(expectProblem(await get(q!), 400, 'invalid_request').param, q).toBe(param);
    }
  });

  it('never shows another organization’s end-users (404 by id, absent from lists)', async () => {
    const other = await createOrg(t);
    const otherKey = (await createApiKey(t, other)).key;
    const theirs = (await t.request().post('/api/end-users').set('Authorization', `Bearer ${otherKey}`).send({ externalId: 'theirs' })).body.id;
    const res = await api().get(`/api/end-users/${theirs}`);
    expectProblem(res, 404, 'not_found');
    expect(JSON.stringify(res.body)).not.toContain('theirs');
    const list = await api().get('/api/end-users?limit=100&externalId=theirs');
    expect(list.body.data).toEqual([]);
    expectProblem(await api().get(`/api/end-users/${newEndUserId()}`), 404, 'not_found');
    for (const bad of ['123', 'eu_123', `eu_${'0'.repeat(8)}`, 'run_x']) {
      expect(expectProblem(await api().get(`/api/end-users/${bad}`), 400, 'invalid_request').param).toBe('id');
    }
  });

  it('follows the permission table: viewers read, members write', async () => {
    const o = await createOrg(t);
    const viewer = await addMember(t, o, 'viewer');
    const member = await addMember(t, o, 'member');
    expect((await viewer.agent.get('/api/end-users').set('X-Org-Id', o.id)).status).toBe(200);
    expect(expectProblem(await viewer.agent.post('/api/end-users').set('X-Org-Id', o.id).send({}), 403, 'forbidden').detail).toContain('end-users:write');
    expect((await member.agent.post('/api/end-users').set('X-Org-Id', o.id).send({})).status).toBe(201);
    expect(await count(o.id)).toBe(1);
  });
});
