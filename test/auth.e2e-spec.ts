import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createApiKey, createOrg, expectProblem, signUp, type TestOrg } from './support/factories.js';

describe('authentication and organization context', () => {
  let t: TestApp;
  let org: TestOrg;

  beforeAll(async () => {
    t = await startApp();
    org = await createOrg(t);
  });
  afterAll(() => t.close());

  it('answers 401 without a session, with the documented detail', async () => {
    const res = await t.request().get('/api/api-keys').set('X-Org-Id', org.id);
    const body = expectProblem(res, 401, 'unauthorized');
    expect(body.detail).toBe('Invalid or missing session');
    expect(res.headers['appstrate-version']).toBeUndefined();
  });

  it('requires X-Org-Id for sessions on org-scoped routes', async () => {
    const missing = await org.owner.agent.get('/api/api-keys');
    expect(expectProblem(missing, 400, 'invalid_request').param).toBe('X-Org-Id');
    const malformed = await org.owner.agent.get('/api/api-keys').set('X-Org-Id', 'not-a-uuid');
    expect(expectProblem(malformed, 400, 'invalid_request').param).toBe('X-Org-Id');
  });

  it('refuses a session user in an org they do not belong to with 403', async () => {
    const stranger = await signUp(t);
    const res = await stranger.agent.get('/api/api-keys').set('X-Org-Id', org.id);
    expectProblem(res, 403, 'forbidden');
  });

  it('accepts a fresh API key and rejects unknown ones with WWW-Authenticate', async () => {
    const { key } = await createApiKey(t, org);
    const bad = await t.request().get('/api/api-keys').set('Authorization', `Bearer ask_${'0'.repeat(48)}`);
    expect(expectProblem(bad, 401, 'unauthorized').detail).toBe('Invalid or expired API key');
    expect(bad.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    const sessionOnly = await t.request().get('/api/api-keys').set('Authorization', `bearer ${key}`);
    expectProblem(sessionOnly, 403, 'forbidden');
    expect(sessionOnly.headers['appstrate-version']).toBeUndefined();
  });

  it('echoes Request-Id on every answer and ignores an inbound one', async () => {
    const res = await t.request().get('/health').set('Request-Id', 'req_client');
    expect(res.status).toBe(200);
    expect(res.headers['request-id']).toMatch(/^req_[0-9a-f]{24}$/);
  });

  it('answers unknown routes 404 and wrong methods 405 with Allow', async () => {
    expectProblem(await t.request().get('/api/nope'), 404, 'not_found');
    expectProblem(await t.request().get('/api/nope').set('Authorization', 'Bearer junk'), 404, 'not_found');
    const res = await t.request().put('/api/api-keys');
    expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('GET, HEAD, POST');
  });
});
