import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { addMember, createApiKey, createOrg, expectProblem, signUp, type TestOrg, type TestUser } from './support/factories.js';

/** API.md section 2, management routes: organizations and members. */
describe('organizations', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('creates an org with the caller as owner, pinned to the platform default version', async () => {
    const user = await signUp(t);
    const res = await user.agent.post('/api/orgs').send({ name: 'Acme', slug: `acme-${Date.now()}` });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Acme', apiVersion: '2026-03-21', role: 'owner' });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['appstrate-version']).toBe('2026-03-21');
    const members = await user.agent.get(`/api/orgs/${res.body.id}/members`);
    expect(members.body.data).toEqual([expect.objectContaining({ userId: user.id, email: user.email, role: 'owner' })]);
  });

  it('refuses a taken slug with 409 and an invalid body with 400, creating nothing', async () => {
    const org = await createOrg(t);
    const user = await signUp(t);
    expectProblem(await user.agent.post('/api/orgs').send({ name: 'Dup', slug: org.slug }), 409, 'conflict');
    for (const body of [{}, { name: 'x' }, { name: '', slug: 'ok-slug' }, { name: 'x', slug: 'Not A Slug' }, { name: 'x', slug: 'ok-slug', extra: 1 }]) {
      const res = await user.agent.post('/api/orgs').send(body);
      const problem = expectProblem(res, 400, 'validation_failed');
      expect((problem.errors as unknown[]).length).toBeGreaterThan(0);
    }
    expect((await user.agent.get('/api/orgs')).body.data).toEqual([]);
  });

  it('lists only the caller’s orgs, newest first, with cursor paging', async () => {
    const user = await signUp(t);
    const a = await createOrg(t, user);
    const b = await createOrg(t, user);
    const c = await createOrg(t, user);
    await createOrg(t); // someone else's
    const first = await user.agent.get('/api/orgs?limit=2');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ object: 'list', hasMore: true });
    expect(first.body.data.map((o: { id: string }) => o.id)).toEqual([c.id, b.id]);
    const second = await user.agent.get(`/api/orgs?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toMatchObject({ object: 'list', hasMore: false, nextCursor: null });
    expect(second.body.data.map((o: { id: string }) => o.id)).toEqual([a.id]);
    expect(expectProblem(await user.agent.get('/api/orgs?limit=0'), 400, 'invalid_request').param).toBe('limit');
    expect(expectProblem(await user.agent.get('/api/orgs?cursor=%%%'), 400, 'invalid_request').param).toBe('cursor');
  });

  describe('PATCH /api/orgs/{orgId}', () => {
    it('renames and re-pins the API version (owner and admin)', async () => {
      const org = await createOrg(t);
      const admin = await addMember(t, org, 'admin');
      const res = await admin.agent.patch(`/api/orgs/${org.id}`).send({ name: 'Renamed', apiVersion: '2026-06-11' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: org.id, name: 'Renamed', apiVersion: '2026-06-11', role: 'admin' });
      const back = await org.owner.agent.patch(`/api/orgs/${org.id}`).send({ apiVersion: '2026-03-21' });
      expect(back.body.apiVersion).toBe('2026-03-21');
    });

    it('refuses an unsupported apiVersion with 400 unsupported_api_version, param apiVersion, changing nothing', async () => {
      const org = await createOrg(t);
      for (const apiVersion of ['2020-01-01', '2026-06-12', 'garbage', '2026-02-30']) {
        const res = await org.owner.agent.patch(`/api/orgs/${org.id}`).send({ name: 'Changed?', apiVersion });
        expect(expectProblem(res, 400, 'unsupported_api_version').param).toBe('apiVersion');
      }
      const [row] = await t.db.query(`SELECT name, api_version FROM organizations WHERE id = $1`, [org.id]);
      expect(row).toEqual({ name: `Org ${org.slug}`, api_version: '2026-03-21' });
    });

    it('needs org:manage (403 for member and viewer)', async () => {
      const org = await createOrg(t);
      for (const role of ['member', 'viewer'] as const) {
        const user = await addMember(t, org, role);
        const res = await user.agent.patch(`/api/orgs/${org.id}`).send({ name: 'Nope' });
        expect(expectProblem(res, 403, 'forbidden').detail).toContain('org:manage');
      }
    });

    it('answers 403 for another org, 403 for an unknown org and 400 for a malformed id', async () => {
      const org = await createOrg(t);
      const other = await createOrg(t);
      expectProblem(await org.owner.agent.patch(`/api/orgs/${other.id}`).send({ name: 'Hijack' }), 403, 'forbidden');
      expectProblem(await org.owner.agent.patch('/api/orgs/00000000-0000-4000-8000-000000000000').send({ name: 'x' }), 403, 'forbidden');
      expect(expectProblem(await org.owner.agent.patch('/api/orgs/not-a-uuid').send({ name: 'x' }), 400, 'invalid_request').param).toBe('orgId');
      const [row] = await t.db.query(`SELECT name FROM organizations WHERE id = $1`, [other.id]);
      expect(row.name).toBe(`Org ${other.slug}`);
    });
  });
});

describe('members', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  const roleOf = async (org: TestOrg, user: TestUser) => {
    const rows = await t.db.query(`SELECT role FROM members WHERE org_id = $1 AND user_id = $2`, [org.id, user.id]);
    return rows[0]?.role ?? null;
  };

  it('adds an existing user by email (any letter case) and lists members', async () => {
    const org = await createOrg(t);
    const user = await signUp(t);
    const res = await org.owner.agent.post(`/api/orgs/${org.id}/members`).send({ email: user.email.toUpperCase(), role: 'member' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ userId: user.id, email: user.email, role: 'member' });
    expect(res.headers['appstrate-version']).toBe('2026-03-21');
    const list = await org.owner.agent.get(`/api/orgs/${org.id}/members?limit=1`);
    expect(list.body).toMatchObject({ object: 'list', hasMore: true });
    expect(list.body.data[0].userId).toBe(user.id);
    const next = await org.owner.agent.get(`/api/orgs/${org.id}/members?limit=1&cursor=${list.body.nextCursor}`);
    expect(next.body.data[0].userId).toBe(org.owner.id);
    expect(next.body.hasMore).toBe(false);
    // The new member sees the org in their list.
    const theirs = await user.agent.get('/api/orgs');
    expect(theirs.body.data).toEqual([expect.objectContaining({ id: org.id, role: 'member' })]);
  });

  it('answers 404 for an unknown email and 409 for an existing member', async () => {
    const org = await createOrg(t);
    const member = await addMember(t, org, 'viewer');
    expectProblem(await org.owner.agent.post(`/api/orgs/${org.id}/members`).send({ email: 'nobody-here@example.test', role: 'member' }), 404, 'not_found');
    expectProblem(await org.owner.agent.post(`/api/orgs/${org.id}/members`).send({ email: member.email, role: 'admin' }), 409, 'conflict');
    expect(await roleOf(org, member)).toBe('viewer');
  });

  it('validates the body', async () => {
    const org = await createOrg(t);
    for (const body of [{}, { email: 'not-an-email', role: 'member' }, { email: 'a@b.test', role: 'superuser' }, { email: 'a@b.test', role: 'member', x: 1 }]) {
      expectProblem(await org.owner.agent.post(`/api/orgs/${org.id}/members`).send(body), 400, 'validation_failed');
    }
  });

  it('lets only an owner grant owner (403 for an admin, checked first)', async () => {
    const org = await createOrg(t);
    const admin = await addMember(t, org, 'admin');
    const newcomer = await signUp(t);
    // Even for an unknown email, the owner rule answers first.
    expectProblem(await admin.agent.post(`/api/orgs/${org.id}/members`).send({ email: 'ghost@example.test', role: 'owner' }), 403, 'forbidden');
    expectProblem(await admin.agent.post(`/api/orgs/${org.id}/members`).send({ email: newcomer.email, role: 'owner' }), 403, 'forbidden');
    expect(await roleOf(org, newcomer)).toBeNull();
    const member = await addMember(t, org, 'member');
    expectProblem(await admin.agent.patch(`/api/orgs/${org.id}/members/${member.id}`).send({ role: 'owner' }), 403, 'forbidden');
    expect(await roleOf(org, member)).toBe('member');
    // An owner may.
    const promoted = await org.owner.agent.patch(`/api/orgs/${org.id}/members/${member.id}`).send({ role: 'owner' });
    expect(promoted.status).toBe(200);
    expect(promoted.body.role).toBe('owner');
  });

  it('lets only an owner change or remove an owner (403 for an admin)', async () => {
    const org = await createOrg(t);
    const admin = await addMember(t, org, 'admin');
    const coOwner = await addMember(t, org, 'owner');
    expectProblem(await admin.agent.patch(`/api/orgs/${org.id}/members/${coOwner.id}`).send({ role: 'viewer' }), 403, 'forbidden');
    expectProblem(await admin.agent.delete(`/api/orgs/${org.id}/members/${coOwner.id}`), 403, 'forbidden');
    expect(await roleOf(org, coOwner)).toBe('owner');
    // 403 before 409: an admin acting on the last... owner gets 403, not a conflict.
    const solo = await createOrg(t);
    const soloAdmin = await addMember(t, solo, 'admin');
    expectProblem(await soloAdmin.agent.delete(`/api/orgs/${solo.id}/members/${solo.owner.id}`), 403, 'forbidden');
  });

  it('lets an admin manage non-owners', async () => {
    const org = await createOrg(t);
    const admin = await addMember(t, org, 'admin');
    const viewer = await addMember(t, org, 'viewer');
    const res = await admin.agent.patch(`/api/orgs/${org.id}/members/${viewer.id}`).send({ role: 'admin' });
    expect(res.status).toBe(200);
    expect(res.body.role).toBe('admin');
    await admin.agent.delete(`/api/orgs/${org.id}/members/${viewer.id}`).expect(204);
    expect(await roleOf(org, viewer)).toBeNull();
    expectProblem(await viewer.agent.get(`/api/orgs/${org.id}/members`), 403, 'forbidden');
  });

  it('keeps the last owner: demoting or removing them is 409', async () => {
    const org = await createOrg(t);
    expectProblem(await org.owner.agent.patch(`/api/orgs/${org.id}/members/${org.owner.id}`).send({ role: 'admin' }), 409, 'conflict');
    expectProblem(await org.owner.agent.delete(`/api/orgs/${org.id}/members/${org.owner.id}`), 409, 'conflict');
    expect(await roleOf(org, org.owner)).toBe('owner');
    // With a second owner, the first may step down.
    const second = await addMember(t, org, 'owner');
    expect((await org.owner.agent.patch(`/api/orgs/${org.id}/members/${org.owner.id}`).send({ role: 'admin' })).status).toBe(200);
    expectProblem(await second.agent.delete(`/api/orgs/${org.id}/members/${second.id}`), 409, 'conflict');
  });

  it('never leaves an org without an owner when two owners demote each other at once', async () => {
    const org = await createOrg(t);
    const second = await addMember(t, org, 'owner');
    const [a, b] = await Promise.all([
      org.owner.agent.patch(`/api/orgs/${org.id}/members/${second.id}`).send({ role: 'admin' }),
      second.agent.patch(`/api/orgs/${org.id}/members/${org.owner.id}`).send({ role: 'admin' }),
    ]);
    const [{ count }] = await t.db.query(`SELECT count(*)::int AS count FROM members WHERE org_id = $1 AND role = 'owner'`, [org.id]);
    expect(count).toBe(1);
    expect([a.status, b.status]).toContain(200);
    expect([a.status, b.status].filter((s) => s !== 200).every((s) => s === 409 || s === 403)).toBe(true);
  });

  it('needs members:manage to change anything', async () => {
    const org = await createOrg(t);
    const member = await addMember(t, org, 'member');
    const viewer = await addMember(t, org, 'viewer');
    expectProblem(await member.agent.patch(`/api/orgs/${org.id}/members/${viewer.id}`).send({ role: 'admin' }), 403, 'forbidden');
    expectProblem(await member.agent.delete(`/api/orgs/${org.id}/members/${viewer.id}`), 403, 'forbidden');
    const other = await signUp(t);
    const res = await member.agent.post(`/api/orgs/${org.id}/members`).send({ email: other.email, role: 'viewer' });
    expect(expectProblem(res, 403, 'forbidden').detail).toContain('members:manage');
    expect(await roleOf(org, viewer)).toBe('viewer');
  });

  it('answers 404 for a user who is not a member, and never touches another org', async () => {
    const org = await createOrg(t);
    const other = await createOrg(t);
    const outsider = await addMember(t, other, 'viewer');
    expectProblem(await org.owner.agent.patch(`/api/orgs/${org.id}/members/${outsider.id}`).send({ role: 'admin' }), 404, 'not_found');
    expectProblem(await org.owner.agent.delete(`/api/orgs/${org.id}/members/${outsider.id}`), 404, 'not_found');
    expectProblem(await org.owner.agent.delete(`/api/orgs/${org.id}/members/${'x'.repeat(300)}`), 404, 'not_found');
    expectProblem(await org.owner.agent.patch(`/api/orgs/${other.id}/members/${outsider.id}`).send({ role: 'admin' }), 403, 'forbidden');
    expectProblem(await org.owner.agent.get(`/api/orgs/${other.id}/members`), 403, 'forbidden');
    expect(await roleOf(other, outsider)).toBe('viewer');
  });

  it('refuses API keys on member routes', async () => {
    const org = await createOrg(t);
    const { key } = await createApiKey(t, org);
    const res = await t.request().delete(`/api/orgs/${org.id}/members/${org.owner.id}`).set('Authorization', `Bearer ${key}`);
    expectProblem(res, 403, 'forbidden');
    expect(await roleOf(org, org.owner)).toBe('owner');
  });
});
