import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { addMember, createApiKey, createOrg, expectProblem, type TestOrg } from './support/factories.js';

/** API.md section 2: POST/GET/DELETE /api/api-keys. */
describe('API keys', () => {
  let t: TestApp;
  let org: TestOrg;

  beforeAll(async () => {
    t = await startApp();
    org = await createOrg(t);
  });
  afterAll(() => t.close());

  const keys = () => org.owner.agent;

  it('creates a key: 201 with the plaintext once, stored only as a hash and a prefix', async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await keys().post('/api/api-keys').set('X-Org-Id', org.id).send({ name: 'CI', scopes: ['runs:read', 'agents:run'], expiresAt });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'key', 'keyPrefix', 'lastUsedAt', 'name', 'scopes'].sort());
    expect(res.body).toMatchObject({ name: 'CI', scopes: ['runs:read', 'agents:run'], expiresAt });
    expect(res.body.key).toMatch(/^ask_[0-9a-f]{48}$/);
    expect(res.body.key.startsWith(res.body.keyPrefix)).toBe(true);
    expect(res.body.keyPrefix.length).toBeLessThan(20);
    const [row] = await t.db.query(`SELECT * FROM api_keys WHERE id = $1`, [res.body.id]);
    expect(JSON.stringify(row)).not.toContain(res.body.key);
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);

    const list = await keys().get('/api/api-keys').set('X-Org-Id', org.id);
    const listed = list.body.data.find((k: { id: string }) => k.id === res.body.id);
    expect(listed).toMatchObject({ name: 'CI', keyPrefix: res.body.keyPrefix });
    expect(listed.key).toBeUndefined();
    expect(JSON.stringify(list.body)).not.toContain(res.body.key);
  });

  it('mints distinct keys every time', async () => {
    const a = await createApiKey(t, org);
    const b = await createApiKey(t, org);
    expect(a.key).not.toBe(b.key);
  });

  it('validates name and expiresAt', async () => {
    const bodies = [
      {},
      { name: '' },
      { name: 'x'.repeat(101) },
      { name: 42 },
      { name: 'ok', expiresAt: 'tomorrow' },
      { name: 'ok', expiresAt: '2030-W01' }, // ISO 8601 (a week), but no instant
      { name: 'ok', expiresAt: new Date(Date.now() - 1000).toISOString() },
      { name: 'ok', unknown: true },
    ];
    for (const body of bodies) {
      const res = await keys().post('/api/api-keys').set('X-Org-Id', org.id).send(body);
      const problem = expectProblem(res, 400, 'validation_failed');
      expect(problem.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: expect.any(String), code: expect.any(String), message: expect.any(String) })]));
      expect(res.headers['appstrate-version']).toBe('2026-03-21');
    }
  });

  it('lists with cursor paging, newest first, without revoked keys', async () => {
    const o = await createOrg(t);
    const a = await createApiKey(t, o);
    const b = await createApiKey(t, o);
    const c = await createApiKey(t, o);
    await o.owner.agent.delete(`/api/api-keys/${b.id}`).set('X-Org-Id', o.id).expect(204);
    const first = await o.owner.agent.get('/api/api-keys?limit=1').set('X-Org-Id', o.id);
    expect(first.body).toMatchObject({ object: 'list', hasMore: true });
    expect(first.body.data.map((k: { id: string }) => k.id)).toEqual([c.id]);
    const rest = await o.owner.agent.get(`/api/api-keys?limit=1&cursor=${first.body.nextCursor}`).set('X-Org-Id', o.id);
    expect(rest.body.data.map((k: { id: string }) => k.id)).toEqual([a.id]);
    expect(rest.body.hasMore).toBe(false);
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'limit=1.5', 'cursor=garbage!']) {
      const res = await o.owner.agent.get(`/api/api-keys?${q}`).set('X-Org-Id', o.id);
      expect(expectProblem(res, 400, 'invalid_request').param).toBe(q.split('=')[0]);
    }
  });

  it('revokes with 204; a second revoke, an unknown id or another org’s key is 404', async () => {
    const { id } = await createApiKey(t, org);
    await keys().delete(`/api/api-keys/${id}`).set('X-Org-Id', org.id).expect(204);
    expectProblem(await keys().delete(`/api/api-keys/${id}`).set('X-Org-Id', org.id), 404, 'not_found');
    expectProblem(await keys().delete('/api/api-keys/00000000-0000-4000-8000-000000000000').set('X-Org-Id', org.id), 404, 'not_found');
    expect(expectProblem(await keys().delete('/api/api-keys/not-a-uuid').set('X-Org-Id', org.id), 400, 'invalid_request').param).toBe('id');

    const other = await createOrg(t);
    const theirs = await createApiKey(t, other);
    expectProblem(await keys().delete(`/api/api-keys/${theirs.id}`).set('X-Org-Id', org.id), 404, 'not_found');
    expect((await t.request().get('/api/end-users').set('Authorization', `Bearer ${theirs.key}`)).status).toBe(200);
    const listed = await keys().get('/api/api-keys?limit=100').set('X-Org-Id', org.id);
    expect(listed.body.data.map((k: { id: string }) => k.id)).not.toContain(theirs.id);
  });

  it('lets an admin manage keys but not a member or viewer', async () => {
    const o = await createOrg(t);
    const admin = await addMember(t, o, 'admin');
    expect((await admin.agent.post('/api/api-keys').set('X-Org-Id', o.id).send({ name: 'a' })).status).toBe(201);
    for (const role of ['member', 'viewer'] as const) {
      const user = await addMember(t, o, role);
      const res = await user.agent.get('/api/api-keys').set('X-Org-Id', o.id);
      expect(expectProblem(res, 403, 'forbidden').detail).toContain('api-keys:manage');
    }
  });

  it('does not let a member-level creator mint scopes they lack (admin demoted mid-way)', async () => {
    const o = await createOrg(t);
    const admin = await addMember(t, o, 'admin');
    await o.owner.agent.patch(`/api/orgs/${o.id}/members/${admin.id}`).send({ role: 'member' }).expect(200);
    // Now a member: cannot manage keys at all.
    expectProblem(await admin.agent.post('/api/api-keys').set('X-Org-Id', o.id).send({ name: 'x' }), 403, 'forbidden');
  });
});
