import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { addMember, createApiKey, createOrg, expectProblem } from './support/factories.js';

/**
 * API keys are cached per process; a change made through ANOTHER process (here a second app
 * on the same database and Redis) reaches it through Redis pub/sub. The process that made the
 * change drops its entries synchronously (test/api-keys, test/auth); the others within the
 * pub/sub delivery time, so these tests allow a short bound, well under the cache TTL (10 s):
 * a missed invalidation would still fail them.
 */
describe('API-key cache across processes', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startApp();
    b = await startApp();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  const bearerOnA = (key: string) => a.request().set('Authorization', `Bearer ${key}`);

  /** Repeats `send` until it answers `status`, for at most 2 s; returns that answer. */
  async function eventually<T extends { status: number }>(send: () => PromiseLike<T>, status: number): Promise<T> {
    const deadline = Date.now() + 2_000;
    for (;;) {
      const res = await send();
      if (res.status === status || Date.now() > deadline) return res;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('honours a revocation made through another instance at once', async () => {
    const org = await createOrg(b);
    const { id, key } = await createApiKey(b, org);
    // Used twice on A: the second answer comes from A's cache.
    expect((await bearerOnA(key).get('/api/end-users')).status).toBe(200);
    expect((await bearerOnA(key).get('/api/end-users')).status).toBe(200);

    await org.owner.agent.delete(`/api/api-keys/${id}`).set('X-Org-Id', org.id).expect(204);
    const res = await eventually(() => bearerOnA(key).get('/api/end-users'), 401);
    expect(expectProblem(res, 401, 'unauthorized').detail).toBe('Invalid or expired API key');
  });

  it('honours a demotion and a removal made through another instance at once', async () => {
    const org = await createOrg(b);
    const admin = await addMember(b, org, 'admin');
    const key = (await admin.agent.post('/api/api-keys').set('X-Org-Id', org.id).send({ name: 'admin key' })).body.key as string;
    expect((await bearerOnA(key).post('/api/end-users').send({})).status).toBe(201);
    expect((await bearerOnA(key).post('/api/end-users').send({})).status).toBe(201);

    await org.owner.agent.patch(`/api/orgs/${org.id}/members/${admin.id}`).send({ role: 'viewer' }).expect(200);
    const demoted = await eventually(() => bearerOnA(key).post('/api/end-users').send({}), 403);
    expect(expectProblem(demoted, 403, 'forbidden').detail).toContain('end-users:write');
    expect((await bearerOnA(key).get('/api/end-users')).status).toBe(200);

    await org.owner.agent.delete(`/api/orgs/${org.id}/members/${admin.id}`).expect(204);
    expectProblem((await eventually(() => bearerOnA(key).get('/api/end-users'), 401)), 401, 'unauthorized');
  });

  it('honours an org API-version change made through another instance at once', async () => {
    const org = await createOrg(b);
    const { key } = await createApiKey(b, org);
    const before = await bearerOnA(key).get('/api/end-users').expect(200);
    const pinned = before.headers['appstrate-version'] as string;
    const other = pinned === '2026-03-21' ? '2026-06-11' : '2026-03-21';
    await org.owner.agent.patch(`/api/orgs/${org.id}`).send({ apiVersion: other }).expect(200);
    const deadline = Date.now() + 2_000;
    let after = await bearerOnA(key).get('/api/end-users').expect(200);
    while (after.headers['appstrate-version'] !== other && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      after = await bearerOnA(key).get('/api/end-users').expect(200);
    }
    expect(after.headers['appstrate-version']).toBe(other);
  });
});
