import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEndUserId } from '../src/common/ids.js';
import { exchangeRaw, startApp, type TestApp } from './support/app.js';
import { addMember, createApiKey, createOrg, expectProblem, signUp, type TestOrg } from './support/factories.js';

/** API.md section 2: sessions, keys, org context, roles and scopes, impersonation. */
describe('authentication and organization context', () => {
  let t: TestApp;
  let org: TestOrg;

  beforeAll(async () => {
    t = await startApp();
    org = await createOrg(t);
  });
  afterAll(() => t.close());

  const bearer = (key: string) => t.request().set('Authorization', `Bearer ${key}`);

  describe('sessions', () => {
    it('answers 401 without a session, with the documented detail and WWW-Authenticate', async () => {
      const res = await t.request().get('/api/end-users').set('X-Org-Id', org.id);
      const body = expectProblem(res, 401, 'unauthorized');
      expect(body.detail).toBe('Invalid or missing session');
      expect(res.headers['www-authenticate']).toBeTruthy();
      expect(res.headers['appstrate-version']).toBeUndefined();
    });

    it('answers 401 for a forged or signed-out session cookie', async () => {
      const forged = await t.request().get('/api/orgs').set('Cookie', 'better-auth.session_token=forged.value');
      expect(expectProblem(forged, 401, 'unauthorized').detail).toBe('Invalid or missing session');

      const user = await signUp(t);
      expect((await user.agent.get('/api/orgs')).status).toBe(200);
      expect((await user.agent.post('/api/auth/sign-out').send({})).status).toBe(200);
      expectProblem(await user.agent.get('/api/orgs'), 401, 'unauthorized');
    });

    it('serves the four Better Auth routes with the documented cookie', async () => {
      const user = await signUp(t);
      const signIn = await t.request().post('/api/auth/sign-in/email').send({ email: user.email, password: 'correct-horse-battery' });
      expect(signIn.status).toBe(200);
      expect(String(signIn.headers['set-cookie'])).toMatch(/(^|,)\s*better-auth\.session_token=/);
      const session = await user.agent.get('/api/auth/get-session');
      expect(session.status).toBe(200);
      expect(session.body.user.email).toBe(user.email);
      expect(session.headers['request-id']).toMatch(/^req_/);
      const wrong = await t.request().post('/api/auth/sign-in/email').send({ email: user.email, password: 'wrong-password-123' });
      expect(wrong.status).toBe(401);
    });

    it('requires a UUID X-Org-Id on org-scoped routes', async () => {
      const missing = await org.owner.agent.get('/api/end-users');
      expect(expectProblem(missing, 400, 'invalid_request').param).toBe('X-Org-Id');
      const malformed = await org.owner.agent.get('/api/end-users').set('X-Org-Id', 'not-a-uuid');
      expect(expectProblem(malformed, 400, 'invalid_request').param).toBe('X-Org-Id');
      expect(malformed.headers['appstrate-version']).toBeUndefined();
    });

    it('answers 403 for an org the user is not a member of, or that does not exist', async () => {
      const stranger = await signUp(t);
      expectProblem(await stranger.agent.get('/api/end-users').set('X-Org-Id', org.id), 403, 'forbidden');
      const ghost = await org.owner.agent.get('/api/end-users').set('X-Org-Id', '00000000-0000-4000-8000-000000000000');
      expectProblem(ghost, 403, 'forbidden');
      expect(ghost.headers['appstrate-version']).toBeUndefined();
    });

    it('accepts X-Org-Id in any letter case', async () => {
      const res = await org.owner.agent.get('/api/end-users').set('X-Org-Id', org.id.toUpperCase());
      expect(res.status).toBe(200);
    });
  });

  describe('API keys', () => {
    it('authenticates with the key alone (scheme case-insensitive), in the key’s org', async () => {
      const { key } = await createApiKey(t, org);
      await t.request().post('/api/end-users').set('Authorization', `Bearer ${key}`).send({ externalId: 'in-key-org' }).expect(201);
      for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
        const res = await t.request().get('/api/end-users').set('Authorization', `${scheme} ${key}`);
        expect(res.status).toBe(200);
        expect(res.body.data.map((u: { externalId: string }) => u.externalId)).toContain('in-key-org');
      }
    });

    it('rejects unknown, malformed and empty keys with 401 and WWW-Authenticate', async () => {
      for (const value of [`Bearer ask_${'0'.repeat(48)}`, 'Bearer ask_short', `Bearer ASK_${'A'.repeat(48)}`, 'Bearer junk', 'Bearer ']) {
        const res = await t.request().get('/api/end-users').set('Authorization', value);
        expect(expectProblem(res, 401, 'unauthorized').detail).toMatch(/Invalid or (expired API key|missing session)/);
        expect(res.headers['www-authenticate']).toBeTruthy();
      }
      const unknown = await t.request().get('/api/end-users').set('Authorization', `Bearer ask_${'0'.repeat(48)}`);
      expect(unknown.body.detail).toBe('Invalid or expired API key');
      expect(unknown.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    it('refuses keys on session-only routes with 403', async () => {
      const { key } = await createApiKey(t, org);
      for (const [method, path] of [
        ['get', '/api/api-keys'],
        ['post', '/api/api-keys'],
        ['get', '/api/orgs'],
        ['post', '/api/orgs'],
        ['patch', `/api/orgs/${org.id}`],
        ['get', `/api/orgs/${org.id}/members`],
        ['post', `/api/orgs/${org.id}/members`],
      ] as const) {
        const res = await bearer(key)[method](path).send({});
        expectProblem(res, 403, 'forbidden');
      }
    });

    it('answers 403 when X-Org-Id names another org than the key’s, and accepts its own', async () => {
      const other = await createOrg(t);
      const { key } = await createApiKey(t, org);
      const res = await bearer(key).get('/api/end-users').set('X-Org-Id', other.id);
      expectProblem(res, 403, 'forbidden');
      expect((await bearer(key).get('/api/end-users').set('X-Org-Id', org.id)).status).toBe(200);
    });

    it('stops a revoked key at once', async () => {
      const { id, key } = await createApiKey(t, org);
      expect((await bearer(key).get('/api/end-users')).status).toBe(200);
      await org.owner.agent.delete(`/api/api-keys/${id}`).set('X-Org-Id', org.id).expect(204);
      const res = await bearer(key).get('/api/end-users');
      expect(expectProblem(res, 401, 'unauthorized').detail).toBe('Invalid or expired API key');
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    it('stops an expired key, even one authentication has cached', async () => {
      // Expiry is checked against the clock on every use, cached or not: let a short key run out.
      const expiresAt = Date.now() + 4_000;
      const { key } = await createApiKey(t, org, { expiresAt: new Date(expiresAt).toISOString() });
      expect((await bearer(key).get('/api/end-users')).status).toBe(200);
      expect((await bearer(key).get('/api/end-users')).status).toBe(200);
      await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now() + 100)));
      const res = await bearer(key).get('/api/end-users');
      expect(expectProblem(res, 401, 'unauthorized').detail).toBe('Invalid or expired API key');
    });

    it('records lastUsedAt without being asked', async () => {
      const { id, key } = await createApiKey(t, org);
      await bearer(key).get('/api/end-users').expect(200);
      const deadline = Date.now() + 10_000;
      let lastUsed: unknown = null;
      while (Date.now() < deadline && !lastUsed) {
        [{ last_used_at: lastUsed }] = await t.db.query(`SELECT last_used_at FROM api_keys WHERE id = $1`, [id]);
        if (!lastUsed) await new Promise((r) => setTimeout(r, 50));
      }
      expect(lastUsed).toBeInstanceOf(Date);
    });
  });

  describe('roles and permissions (session)', () => {
    // Writes are sent with an invalid body: a caller holding the permission gets 400 (the body is
    // checked after the permission), one lacking it gets 403 naming it, and nothing is created.
    const probes = (o: TestOrg) =>
      [
        ['end-users:read', 'get', '/api/end-users', undefined, 200],
        ['end-users:write', 'post', '/api/end-users', { unknown: 1 }, 400],
        ['models:read', 'get', '/api/models', undefined, 200],
        ['models:write', 'post', '/api/models', {}, 400],
        ['api-keys:manage', 'get', '/api/api-keys', undefined, 200],
        ['members:manage', 'post', `/api/orgs/${o.id}/members`, {}, 400],
        ['org:manage', 'patch', `/api/orgs/${o.id}`, { name: '' }, 400],
      ] as const;
    const matrix: Record<string, string[]> = {
      owner: ['end-users:read', 'end-users:write', 'models:read', 'models:write', 'api-keys:manage', 'members:manage', 'org:manage'],
      admin: ['end-users:read', 'end-users:write', 'models:read', 'models:write', 'api-keys:manage', 'members:manage', 'org:manage'],
      member: ['end-users:read', 'end-users:write', 'models:read'],
      viewer: ['end-users:read', 'models:read'],
    };

    for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
      it(`gives ${role} exactly the permissions of the table`, async () => {
        const o = await createOrg(t);
        const user = role === 'owner' ? o.owner : await addMember(t, o, role);
        for (const [permission, method, path, body, okStatus] of probes(o)) {
          const req = user.agent[method](path).set('X-Org-Id', o.id);
          const res = body === undefined ? await req : await req.send(body);
          if (matrix[role]!.includes(permission)) {
            expect(res.status, `${role} ${permission}`).toBe(okStatus);
          } else {
            const problem = expectProblem(res, 403, 'forbidden');
            expect(problem.detail).toContain(permission);
            expect(res.headers['appstrate-version']).toBe('2026-03-21');
          }
        }
        const [{ count }] = await t.db.query(`SELECT count(*)::int AS count FROM end_users WHERE org_id = $1`, [o.id]);
        expect(count).toBe(0);
      });
    }
  });

  describe('key scopes', () => {
    it('defaults to every key-holdable permission of the creator', async () => {
      const o = await createOrg(t);
      const member = await addMember(t, o, 'member');
      const viewer = await addMember(t, o, 'viewer');
      const adminKey = await o.owner.agent.post('/api/api-keys').set('X-Org-Id', o.id).send({ name: 'k' });
      expect(adminKey.status).toBe(201);
      expect([...adminKey.body.scopes].sort()).toEqual(
        ['agents:read', 'agents:run', 'agents:write', 'end-users:read', 'end-users:write', 'models:read', 'runs:cancel', 'runs:read'].sort(),
      );
      expect(adminKey.body.key).toMatch(/^ask_[0-9a-f]{48}$/);
      expect(adminKey.body.keyPrefix).toBe(adminKey.body.key.slice(0, adminKey.body.keyPrefix.length));
      // A member cannot manage keys at all; a viewer neither.
      expectProblem(await member.agent.post('/api/api-keys').set('X-Org-Id', o.id).send({ name: 'k' }), 403, 'forbidden');
      expectProblem(await viewer.agent.post('/api/api-keys').set('X-Org-Id', o.id).send({ name: 'k' }), 403, 'forbidden');
    });

    it('limits a key to its scopes, naming the missing permission', async () => {
      const { key } = await createApiKey(t, org, { scopes: ['end-users:read'] });
      expect((await bearer(key).get('/api/end-users')).status).toBe(200);
      const res = await bearer(key).post('/api/end-users').send({ externalId: 'scoped-out' });
      expect(expectProblem(res, 403, 'forbidden').detail).toContain('end-users:write');
      const [{ count }] = await t.db.query(`SELECT count(*)::int AS count FROM end_users WHERE external_id = 'scoped-out'`);
      expect(count).toBe(0);
    });

    it('never lets a key manage: models:write stays with people', async () => {
      const { key } = await createApiKey(t, org);
      const res = await bearer(key).post('/api/models').send({ name: 'k', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'x', model: 'm' });
      expect(expectProblem(res, 403, 'forbidden').detail).toContain('models:write');
    });

    it('refuses an empty list, unknown scopes and scopes a key may not hold, with 400 and nothing created', async () => {
      const o = await createOrg(t);
      const member = await addMember(t, o, 'admin');
      for (const scopes of [[], ['nope'], ['models:write'], ['org:manage'], ['end-users:read', 'api-keys:manage'], [42], 'end-users:read']) {
        const res = await member.agent.post('/api/api-keys').set('X-Org-Id', o.id).send({ name: 'bad', scopes });
        const body = expectProblem(res, 400, 'validation_failed');
        expect(Array.isArray(body.errors) && body.errors.length > 0).toBe(true);
        expect(JSON.stringify(body)).not.toContain('nope');
      }
      const [{ count }] = await t.db.query(`SELECT count(*)::int AS count FROM api_keys WHERE org_id = $1`, [o.id]);
      expect(count).toBe(0);
    });

    it('shrinks the key when its creator is demoted, and restores it when promoted back', async () => {
      const o = await createOrg(t);
      const admin = await addMember(t, o, 'admin');
      const res = await admin.agent.post('/api/api-keys').set('X-Org-Id', o.id).send({ name: 'admin key' });
      const key = res.body.key as string;
      expect((await bearer(key).post('/api/end-users').send({})).status).toBe(201);

      await o.owner.agent.patch(`/api/orgs/${o.id}/members/${admin.id}`).send({ role: 'viewer' }).expect(200);
      const demoted = await bearer(key).post('/api/end-users').send({});
      expect(expectProblem(demoted, 403, 'forbidden').detail).toContain('end-users:write');
      expect((await bearer(key).get('/api/end-users')).status).toBe(200);

      await o.owner.agent.patch(`/api/orgs/${o.id}/members/${admin.id}`).send({ role: 'member' }).expect(200);
      expect((await bearer(key).post('/api/end-users').send({})).status).toBe(201);
    });

    it('kills the key when its creator leaves the organization', async () => {
      const o = await createOrg(t);
      const admin = await addMember(t, o, 'admin');
      const key = (await admin.agent.post('/api/api-keys').set('X-Org-Id', o.id).send({ name: 'leaver' })).body.key as string;
      expect((await bearer(key).get('/api/end-users')).status).toBe(200);
      await o.owner.agent.delete(`/api/orgs/${o.id}/members/${admin.id}`).expect(204);
      const res = await bearer(key).get('/api/end-users');
      expect(expectProblem(res, 401, 'unauthorized').detail).toBe('Invalid or expired API key');
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    it('keeps the key dead when its creator is added back (revoked on removal, listed no more)', async () => {
      const o = await createOrg(t);
      const admin = await addMember(t, o, 'admin');
      const created = (await admin.agent.post('/api/api-keys').set('X-Org-Id', o.id).send({ name: 'returning' })).body;
      const ownerKey = (await o.owner.agent.post('/api/api-keys').set('X-Org-Id', o.id).send({ name: 'stays' })).body;
      await o.owner.agent.delete(`/api/orgs/${o.id}/members/${admin.id}`).expect(204);
      await o.owner.agent.post(`/api/orgs/${o.id}/members`).send({ email: admin.email, role: 'admin' }).expect(201);

      expect(expectProblem(await bearer(created.key).get('/api/end-users'), 401, 'unauthorized').detail).toBe('Invalid or expired API key');
      const listed = await o.owner.agent.get('/api/api-keys').set('X-Org-Id', o.id).expect(200);
      expect(listed.body.data.map((k: { id: string }) => k.id)).toEqual([ownerKey.id]);
      expect((await bearer(ownerKey.key).get('/api/end-users')).status).toBe(200);
    });
  });

  describe('Appstrate-User impersonation', () => {
    it('acts for an end-user of the key’s org', async () => {
      const { key } = await createApiKey(t, org);
      const eu = (await bearer(key).post('/api/end-users').send({ name: 'Ada' })).body.id as string;
      const res = await bearer(key).get(`/api/end-users/${eu}`).set('Appstrate-User', eu);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(eu);
    });

    it('answers 400 invalid_end_user_id for a value not starting with eu_', async () => {
      const { key } = await createApiKey(t, org);
      for (const value of ['user_123', '123', 'EU_x', ' ']) {
        const res = await bearer(key).get('/api/end-users').set('Appstrate-User', value);
        expect(expectProblem(res, 400, 'invalid_end_user_id').param).toBe('Appstrate-User');
        expect(res.headers['appstrate-version']).toBeUndefined();
      }
    });

    it('answers 403 invalid_end_user for an unknown end-user or another org’s', async () => {
      const { key } = await createApiKey(t, org);
      const other = await createOrg(t);
      const otherKey = (await createApiKey(t, other)).key;
      const foreign = (await bearer(otherKey).post('/api/end-users').send({})).body.id as string;
      for (const value of [newEndUserId(), foreign, 'eu_garbage']) {
        const res = await bearer(key).get('/api/end-users').set('Appstrate-User', value);
        expect(expectProblem(res, 403, 'invalid_end_user').param).toBe('Appstrate-User');
      }
    });

    it('refuses the header on a session with 400 header_not_allowed, before the org context', async () => {
      const noOrg = await org.owner.agent.get('/api/end-users').set('Appstrate-User', newEndUserId());
      expect(expectProblem(noOrg, 400, 'header_not_allowed').param).toBe('Appstrate-User');
      const stranger = await signUp(t);
      const notMember = await stranger.agent.get('/api/end-users').set('X-Org-Id', org.id).set('Appstrate-User', 'bogus');
      expect(expectProblem(notMember, 400, 'header_not_allowed').param).toBe('Appstrate-User');
      // Without a session it is still a 401 first.
      expectProblem(await t.request().get('/api/end-users').set('Appstrate-User', 'eu_x'), 401, 'unauthorized');
    });
  });

  describe('cross-cutting headers and routing', () => {
    it('sets a fresh server Request-Id on every answer and ignores an inbound one', async () => {
      const { key } = await createApiKey(t, org);
      const answers = [
        await t.request().get('/health').set('Request-Id', 'req_client'),
        await t.request().get('/api/nope'),
        await t.request().get('/api/end-users'),
        await bearer(key).get('/api/end-users'),
        await t.request().post('/api/auth/sign-in/email').send({ email: 'nobody@example.test', password: 'x-x-x-x-x' }),
      ];
      const ids = answers.map((res) => res.headers['request-id']);
      for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{24}$/);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('echoes a valid traceparent and ignores an invalid one', async () => {
      const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      expect((await t.request().get('/health').set('traceparent', tp)).headers.traceparent).toBe(tp);
      expect((await t.request().get('/api/nope').set('traceparent', tp)).headers.traceparent).toBe(tp);
      for (const bad of ['garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']) {
        expect((await t.request().get('/health').set('traceparent', bad)).headers.traceparent).toBeUndefined();
      }
    });

    /** Sends `head` (request line and headers) and `body` as written, and splits the answer. */
    async function rawRequest(head: string, body = ''): Promise<{ head: string; body: string }> {
      const raw = await exchangeRaw(t, `${head}\r\nHost: localhost\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      const at = raw.indexOf('\r\n\r\n');
      return { head: raw.slice(0, at), body: raw.slice(at + 4) };
    }

    it('serves Better Auth for an absolute-form target, and answers a dot segment under /api/auth with the API’s 404', async () => {
      const absolute = await rawRequest('GET http://localhost/api/auth/get-session HTTP/1.1');
      expect(absolute.head).toMatch(/^HTTP\/1\.1 200 /);
      const dots = await t.request().get('/api/auth/reset-password/%2e%2e');
      expectProblem(dots, 404, 'not_found');
    });

    it('answers a request target the router cannot take 404 problem+json, with its request id', async () => {
      const { head, body } = await rawRequest('GET *api/orgs HTTP/1.1');
      expect(head).toMatch(/^HTTP\/1\.1 404 /);
      expect(head).toMatch(/^content-type: application\/problem\+json\r?$/im);
      const requestId = /^request-id: (req_\w+)\r?$/im.exec(head!)?.[1];
      expect(JSON.parse(body!)).toMatchObject({ code: 'not_found', requestId });
    });

    it('serves a bodiless request with a Content-Type that does not parse as if it had none', async () => {
      const { id } = await createApiKey(t, org);
      const res = await org.owner.agent.delete(`/api/api-keys/${id}`).set('X-Org-Id', org.id).set('Content-Type', 'json');
      expect(res.status).toBe(204);
    });

    it('answers a path with a trailing slash as the same path without it', async () => {
      expect((await t.request().get('/health/')).status).toBe(200);
      expect((await org.owner.agent.get('/api/api-keys/').set('X-Org-Id', org.id)).status).toBe(200);
    });

    it('refuses an oversized body on a Better Auth route with the API’s 413 problem', async () => {
      const body = JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(t.config.http.maxJsonBodyBytes) });
      const res = await t.request().post('/api/auth/sign-in/email').set('Content-Type', 'application/json').send(body);
      expectProblem(res, 413, 'payload_too_large');
    });

    it('answers unknown routes 404 whatever the credentials', async () => {
      const { key } = await createApiKey(t, org);
      for (const path of ['/api/nope', '/api/runs//cancel', '/api/end-users/eu_x/extra', '/api/orgs/x/y/z', '/api', '/', '/nope', '//health', '/health/x', '/%00', '/API/orgs']) {
        expectProblem(await t.request().get(path), 404, 'not_found');
        expectProblem(await t.request().get(path).set('Authorization', 'Bearer junk'), 404, 'not_found');
        expectProblem(await bearer(key).post(path).send({}), 404, 'not_found');
        expectProblem(await org.owner.agent.delete(path).set('X-Org-Id', org.id), 404, 'not_found');
      }
    });

    it('answers unknown paths under /api/auth with the API’s 404, and wrong methods on Better Auth routes with 405', async () => {
      for (const path of ['/api/auth/nope', '/api/auth/sign-in/nope', '/api/auth/']) {
        expectProblem(await t.request().get(path), 404, 'not_found');
        expectProblem(await t.request().post(path).send({}), 404, 'not_found');
      }
      const wrong = await t.request().get('/api/auth/sign-in/email');
      expectProblem(wrong, 405, 'method_not_allowed');
      expect(wrong.headers.allow).toBe('POST');
    });

    it('answers a wrong method on /health and /ready 405 with Allow: GET, HEAD', async () => {
      for (const path of ['/health', '/ready']) {
        const res = await t.request().post(path).send({});
        expectProblem(res, 405, 'method_not_allowed');
        expect(res.headers.allow).toBe('GET, HEAD');
      }
    });

    it('answers a wrong method 405 with Allow, whatever the credentials', async () => {
      const cases: Array<[string, string, string]> = [
        ['put', '/api/api-keys', 'GET, HEAD, POST'],
        ['delete', '/api/end-users', 'GET, HEAD, POST'],
        ['patch', '/api/models', 'GET, HEAD, POST'],
        ['post', `/api/models/${org.id}`, 'DELETE, GET, HEAD'],
        ['delete', `/api/orgs/${org.id}`, 'PATCH'],
        ['put', `/api/orgs/${org.id}/members/someone`, 'DELETE, PATCH'],
      ];
      for (const [method, path, allow] of cases) {
        for (const req of [t.request(), t.request().set('Authorization', 'Bearer junk')]) {
          const res = await (req as unknown as Record<string, (p: string) => Promise<import('supertest').Response>>)[method]!(path);
          expectProblem(res, 405, 'method_not_allowed');
          expect(res.headers.allow).toBe(allow);
        }
      }
    });
  });
});
