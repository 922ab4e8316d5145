import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createApiKey, createOrg, expectProblem, type TestOrg } from './support/factories.js';

/** API.md section 4: resolution header > org pin > platform default, strict parsing, echo. */
describe('API versions', () => {
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

  it('uses the org pin when no header is sent, and echoes it', async () => {
    const res = await api().get('/api/end-users');
    expect(res.status).toBe(200);
    expect(res.headers['appstrate-version']).toBe('2026-03-21');
  });

  it('lets the header win over the pin', async () => {
    for (const version of ['2026-06-11', '2026-03-21']) {
      const res = await api().get('/api/end-users').set('Appstrate-Version', version);
      expect(res.headers['appstrate-version']).toBe(version);
    }
  });

  it('refuses malformed dates with invalid_api_version and unknown ones with unsupported_api_version, without echo', async () => {
    for (const value of ['2026-02-30', '2026-6-11', '20260611', 'latest', '2026-06-11T00:00:00Z', ' ', '2026-13-01', '2026-06-11,2026-03-21']) {
      const res = await api().get('/api/end-users').set('Appstrate-Version', value);
      expect(expectProblem(res, 400, 'invalid_api_version').param, value).toBe('Appstrate-Version');
      expect(res.headers['appstrate-version']).toBeUndefined();
    }
    for (const value of ['2025-01-01', '2026-06-12', '2024-02-29']) {
      const res = await api().get('/api/end-users').set('Appstrate-Version', value);
      expect(expectProblem(res, 400, 'unsupported_api_version').param).toBe('Appstrate-Version');
      expect(res.headers['appstrate-version']).toBeUndefined();
    }
  });

  it('checks authentication before the version', async () => {
    const res = await t.request().get('/api/end-users').set('Appstrate-Version', 'garbage');
    expectProblem(res, 401, 'unauthorized');
  });

  it('echoes the version on every error raised after it is resolved', async () => {
    const validation = await api().post('/api/end-users').set('Appstrate-Version', '2026-06-11').send({ bogus: true });
    expectProblem(validation, 400, 'validation_failed');
    expect(validation.headers['appstrate-version']).toBe('2026-06-11');
    const notFound = await api().get('/api/end-users/eu_01900000-0000-7000-8000-000000000000');
    expectProblem(notFound, 404, 'not_found');
    expect(notFound.headers['appstrate-version']).toBe('2026-03-21');
    const forbidden = await api().post('/api/models').send({});
    expectProblem(forbidden, 403, 'forbidden');
    expect(forbidden.headers['appstrate-version']).toBe('2026-03-21');
    const badJson = await api().post('/api/end-users').set('Content-Type', 'application/json').send('{nope');
    expectProblem(badJson, 400, 'invalid_request');
    expect(badJson.headers['appstrate-version']).toBe('2026-03-21');
    const wrongType = await api().post('/api/end-users').set('Content-Type', 'text/plain').send('hello');
    expectProblem(wrongType, 415, 'unsupported_media_type');
    expect(wrongType.headers['appstrate-version']).toBe('2026-03-21');
  });

  it('follows a change of the org pin at once, for keys and sessions', async () => {
    const o = await createOrg(t);
    const k = (await createApiKey(t, o)).key;
    const viaKey = () => t.request().get('/api/end-users').set('Authorization', `Bearer ${k}`);
    const viaSession = () => o.owner.agent.get('/api/end-users').set('X-Org-Id', o.id);
    expect((await viaKey()).headers['appstrate-version']).toBe('2026-03-21');
    const patched = await o.owner.agent.patch(`/api/orgs/${o.id}`).send({ apiVersion: '2026-06-11' });
    expect(patched.status).toBe(200);
    expect((await viaKey()).headers['appstrate-version']).toBe('2026-06-11');
    expect((await viaSession()).headers['appstrate-version']).toBe('2026-06-11');
    expect((await viaKey().set('Appstrate-Version', '2026-03-21')).headers['appstrate-version']).toBe('2026-03-21');
    // Other orgs keep their own pin.
    expect((await api().get('/api/end-users')).headers['appstrate-version']).toBe('2026-03-21');
  });

  it('uses the platform default on routes outside an organization', async () => {
    const res = await org.owner.agent.get('/api/orgs');
    expect(res.headers['appstrate-version']).toBe('2026-03-21');
    expect((await org.owner.agent.get('/api/orgs').set('Appstrate-Version', '2026-06-11')).headers['appstrate-version']).toBe('2026-06-11');
  });

  it('does not answer public routes with a version', async () => {
    expect((await t.request().get('/health')).headers['appstrate-version']).toBeUndefined();
  });
});

describe('API versions with DEFAULT_API_VERSION=2026-06-11', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ DEFAULT_API_VERSION: '2026-06-11' });
  });
  afterAll(() => t.close());

  it('pins new organizations to the configured default and resolves to it', async () => {
    const org = await createOrg(t);
    const [row] = await t.db.query(`SELECT api_version FROM organizations WHERE id = $1`, [org.id]);
    expect(row.api_version).toBe('2026-06-11');
    expect((await org.owner.agent.get('/api/orgs')).headers['appstrate-version']).toBe('2026-06-11');
    expect((await org.owner.agent.get('/api/end-users').set('X-Org-Id', org.id)).headers['appstrate-version']).toBe('2026-06-11');
  });
});
