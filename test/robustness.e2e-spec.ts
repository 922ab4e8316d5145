import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchangeRaw, startApp, type TestApp } from './support/app.js';
import { addMember, createApiKey, createOrg, type TestOrg, type TestUser } from './support/factories.js';
import { seededRandom } from './support/seeded-random.js';

type Method = 'get' | 'post' | 'patch' | 'delete';

interface Route {
  method: Method;
  /** Path with `{param}` placeholders filled by `fill`. */
  path: string;
  /** Who may call it: the org owner's session (with X-Org-Id when org-scoped) or an API key. */
  via: 'session' | 'key';
  body?: boolean;
}

/** Every route this part of the service adds (API.md section 2 and operations). */
const ROUTES: Route[] = [
  { method: 'post', path: '/api/orgs', via: 'session', body: true },
  { method: 'get', path: '/api/orgs', via: 'session' },
  { method: 'patch', path: '/api/orgs/{orgId}', via: 'session', body: true },
  { method: 'get', path: '/api/orgs/{orgId}/members', via: 'session' },
  { method: 'post', path: '/api/orgs/{orgId}/members', via: 'session', body: true },
  { method: 'patch', path: '/api/orgs/{orgId}/members/{userId}', via: 'session', body: true },
  { method: 'delete', path: '/api/orgs/{orgId}/members/{userId}', via: 'session' },
  { method: 'post', path: '/api/api-keys', via: 'session', body: true },
  { method: 'get', path: '/api/api-keys', via: 'session' },
  { method: 'delete', path: '/api/api-keys/{keyId}', via: 'session' },
  { method: 'post', path: '/api/end-users', via: 'key', body: true },
  { method: 'get', path: '/api/end-users', via: 'key' },
  { method: 'get', path: '/api/end-users/{endUserId}', via: 'key' },
  { method: 'post', path: '/api/models', via: 'session', body: true },
  { method: 'get', path: '/api/models', via: 'session' },
  { method: 'get', path: '/api/models/{modelId}', via: 'session' },
  { method: 'delete', path: '/api/models/{modelId}', via: 'session' },
];

const HUGE = 'x'.repeat(200_000);
const NASTY_STRINGS = [HUGE, '', ' ', '\u0000', '\ud800', '🙂'.repeat(1000), "' OR 1=1 --", '${jndi:ldap://x}', '<script>alert(1)</script>', '../../etc/passwd', '%s%n%x'];
const WRONG_TYPES: unknown[] = [null, 0, -1, 1e308, 3.14, true, false, [], [1, 'a'], {}, { nested: { deep: true } }, ...NASTY_STRINGS];

/** A value nested `depth` levels deep, to look for recursion limits. */
const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

const MALFORMED_JSON = ['{', '{"a":}', '{"a" 1}', "{'a': 1}", 'nul', '{"a":1,}', '[1,2', '\u0000', '{"a":"\\x"}', '{"a":1}garbage', '\ufeff{"a":1}', '💥'];

const NOT_AN_OBJECT = ['[]', '[{"name":"x"}]', '"string"', '42', 'true', 'null'];

const BAD_IDS = ['%E0%A4%A', '%', '%zz', 'not-a-uuid', '1', `${'a'.repeat(5000)}`, "' OR '1'='1", '%00', '%2e%2e%2f', '00000000-0000-0000-0000-00000000000g', '{}', '%F0%9F%99%82', 'eu_', 'eu_%00', 'null', 'undefined', '-1'];

describe('robustness: malformed input never yields a 5xx', () => {
  let t: TestApp;
  let org: TestOrg;
  let member: TestUser;
  let key: string;
  let ids: Record<string, string>;

  beforeAll(async () => {
    t = await startApp();
    org = await createOrg(t);
    member = await addMember(t, org, 'viewer');
    const apiKey = await createApiKey(t, org);
    key = apiKey.key;
    const endUser = await t.request().post('/api/end-users').set('Authorization', `Bearer ${key}`).send({ externalId: 'robust' });
    const model = await org.owner.agent
      .post('/api/models')
      .set('X-Org-Id', org.id)
      .send({ name: 'robust', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk', model: 'm' });
    ids = { orgId: org.id, userId: member.id, keyId: apiKey.id, endUserId: endUser.body.id, modelId: model.body.id };
  });
  afterAll(() => t.close());

  const fill = (path: string, override: Record<string, string> = {}) =>
    path.replace(/\{(\w+)\}/g, (_, name: string) => override[name] ?? ids[name]!);

  /** A request for `route` with valid credentials (unless `anonymous`). */
  function call(route: Route, path = fill(route.path), anonymous = false): supertest.Test {
    const base = route.via === 'session' && !anonymous ? org.owner.agent : t.request();
    let req = base[route.method](path);
    if (anonymous) return req;
    req = route.via === 'key' ? req.set('Authorization', `Bearer ${key}`) : req.set('X-Org-Id', org.id);
    return req;
  }

  /** 4xx with a well-formed problem+json body. */
  function expect4xx(res: supertest.Response, label: string): void {
    expect(res.status, `${label} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`).toBeGreaterThanOrEqual(400);
    expect(res.status, label).toBeLessThan(500);
    expect(res.headers['content-type'], label).toMatch(/^application\/problem\+json/);
    expect(res.body.status, label).toBe(res.status);
    expect(typeof res.body.code, label).toBe('string');
    expect(res.body.requestId, label).toBe(res.headers['request-id']);
  }

  /** Never a 5xx; an error is problem+json. */
  function expectNo5xx(res: supertest.Response, label: string): void {
    expect(res.status, `${label} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`).toBeLessThan(500);
    if (res.status >= 400) expect4xx(res, label);
  }

  const bodyRoutes = ROUTES.filter((r) => r.body);

  it('refuses malformed JSON with 400 invalid_request', async () => {
    for (const route of bodyRoutes) {
      for (const raw of MALFORMED_JSON) {
        const res = await call(route).set('Content-Type', 'application/json').send(raw);
        const label = `${route.method} ${route.path} ${JSON.stringify(raw)}`;
        expect4xx(res, label);
        expect(res.body.code, label).toBe('invalid_request');
      }
    }
  });

  it('refuses JSON that is not an object with 400 validation_failed', async () => {
    for (const route of bodyRoutes) {
      for (const raw of NOT_AN_OBJECT) {
        const res = await call(route).set('Content-Type', 'application/json').send(raw);
        const label = `${route.method} ${route.path} ${raw}`;
        expect4xx(res, label);
        expect(res.body.code, label).toBe('validation_failed');
      }
    }
  });

  it('refuses every field of the wrong type, huge strings and unknown fields with 4xx, never echoing them', async () => {
    const fields: Record<string, string[]> = {
      '/api/orgs': ['name', 'slug'],
      '/api/orgs/{orgId}': ['name', 'apiVersion'],
      '/api/orgs/{orgId}/members': ['email', 'role'],
      '/api/orgs/{orgId}/members/{userId}': ['role'],
      '/api/api-keys': ['name', 'scopes', 'expiresAt'],
      '/api/end-users': ['externalId', 'name', 'email', 'metadata'],
      '/api/models': ['name', 'baseUrl', 'apiKey', 'model', 'isDefault', 'inputPricePerMTok', 'outputPricePerMTok'],
    };
    for (const route of bodyRoutes) {
      for (const field of fields[route.path]!) {
        for (const value of WRONG_TYPES) {
          const res = await call(route).send({ [field]: value });
          const label = `${route.method} ${route.path} ${field}=${JSON.stringify(value).slice(0, 40)}`;
          expectNo5xx(res, label);
          if (res.status >= 400 && typeof value === 'string' && value.length > 100) {
            expect(JSON.stringify(res.body), label).not.toContain(value.slice(0, 100));
          }
        }
      }
      for (const raw of ['{"unknownField":1}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', `{"${'a'.repeat(10_000)}":"b"}`]) {
        const res = await call(route).set('Content-Type', 'application/json').send(raw);
        expect4xx(res, `${route.method} ${route.path} ${raw.slice(0, 30)}`);
        expect(res.body.code).toBe('validation_failed');
      }
    }
    // Nothing was polluted along the way.
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('survives deeply nested values', async () => {
    for (const route of bodyRoutes) {
      for (const depth of [1_000, 100_000]) {
        const raw = `{"name":${deep(depth)},"metadata":${deep(depth)}}`;
        const res = await call(route).set('Content-Type', 'application/json').send(raw);
        expect4xx(res, `${route.method} ${route.path} depth ${depth}`);
      }
    }
  });

  it('refuses bodies that are not JSON with 415, and oversized JSON with 413', async () => {
    for (const route of bodyRoutes) {
      for (const [type, raw] of [
        ['text/plain', 'hello'],
        ['application/x-www-form-urlencoded', 'name=x&slug=y'],
        ['application/xml', '<a/>'],
        ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--x--\r\n'],
        ['application/octet-stream', 'AAAA'],
      ]) {
        const res = await call(route).set('Content-Type', type!).send(raw);
        const label = `${route.method} ${route.path} ${type}`;
        expect4xx(res, label);
        expect(res.body.code, label).toBe('unsupported_media_type');
      }
      const big = await call(route).set('Content-Type', 'application/json').send(JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }));
      expect4xx(big, `${route.method} ${route.path} 2MB`);
      expect(big.body.code).toBe('payload_too_large');
    }
  });

  it('refuses a body sent without Content-Type with 415', async () => {
    const port = await t.port();
    const { request } = await import('node:http');
    const body = '{"name":"x"}';
    const res = await new Promise<{ status: number; type: string; json: Record<string, unknown> }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/api/end-users', headers: { Authorization: `Bearer ${key}`, 'Content-Length': Buffer.byteLength(body) } },
        (r) => {
          let data = '';
          r.on('data', (c) => (data += c));
          r.on('end', () => resolve({ status: r.statusCode!, type: String(r.headers['content-type']), json: JSON.parse(data) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(res.status).toBe(415);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.json.code).toBe('unsupported_media_type');
  });

  it('ignores a GET body, whatever its type, and serves the request on the same connection after it', async () => {
    for (const [type, raw] of [
      ['text/plain', 'hello'],
      ['application/json', '{not json'],
      [undefined, 'no type'],
    ]) {
      const get = t.request().get('/api/runs').set('Authorization', `Bearer ${key}`);
      const res = await (type ? get.set('Content-Type', type) : get).send(raw);
      expect(res.status, `${type}`).toBe(200);
      expect(res.body.object, `${type}`).toBe('list');
    }
    // The unread body must not be taken for the next request on a kept-alive connection.
    const answer = await exchangeRaw(
      t,
      `GET /api/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n` +
        'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\n\{"object":"list"[\s\S]*HTTP\/1\.1 200 [\s\S]*\{"status":"ok"\}$/);
  });

  it('answers bytes Node cannot parse as HTTP/1.1 with a 400 problem, and closes the connection', async () => {
    for (const [label, request] of [
      ['a non-ASCII request target', 'GET /api/runs/\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['a header name with a space', 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n'],
      ['no request line', 'HELLO\r\n\r\n'],
      ['headers over the size limit', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
    ]) {
      const answer = await exchangeRaw(t, request!);
      const at = answer.indexOf('\r\n\r\n');
      const head = answer.slice(0, at);
      expect(head, label).toMatch(/^HTTP\/1\.1 400 Invalid Request\r\n/);
      expect(head, label).toMatch(/^content-type: application\/problem\+json\r?$/im);
      expect(head, label).toMatch(/^connection: close\r?$/im);
      const requestId = /^request-id: (req_\w+)\r?$/im.exec(head)?.[1];
      expect(JSON.parse(answer.slice(at + 4)), label).toMatchObject({ status: 400, code: 'invalid_request', requestId });
    }
  });

  it('refuses malformed path ids with 4xx', async () => {
    for (const route of ROUTES.filter((r) => /\{(?!orgId)/.test(r.path) || r.path.includes('{orgId}'))) {
      const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      for (const param of params) {
        for (const bad of BAD_IDS) {
          const path = fill(route.path, { [param]: bad });
          const req = call(route, path);
          const res = route.body ? await req.send({ role: 'viewer', name: 'x' }) : await req;
          expect4xx(res, `${route.method} ${route.path} ${param}=${bad.slice(0, 30)}`);
        }
      }
    }
  });

  it('ignores unknown query parameters (bracketed names are names, not arrays)', async () => {
    for (const query of ['limit[]=1', 'limit[a]=b', 'cursor[]=x', 'unknown=1', `x=${HUGE.slice(0, 2000)}`]) {
      const res = await call(ROUTES.find((r) => r.path === '/api/end-users' && r.method === 'get')!, `/api/end-users?${query}`);
      expect(res.status, query.slice(0, 30)).toBe(200);
    }
  });

  it('refuses NUL characters in body strings with validation_failed naming the field', async () => {
    const res = await call(ROUTES.find((r) => r.path === '/api/end-users' && r.method === 'post')!).send({ name: 'a\u0000b', metadata: { k: 'v\u0000' } });
    expect4xx(res, 'NUL');
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['metadata.k', 'name']);
  });

  it('refuses malformed paging parameters with 400 naming them', async () => {
    const lists = ROUTES.filter((r) => r.method === 'get' && !/\{(?!orgId)/.test(r.path));
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const route of lists) {
      for (const [query, param] of [
        ['limit=0', 'limit'],
        ['limit=-5', 'limit'],
        ['limit=1e2', 'limit'],
        ['limit=99999999999999999999', 'limit'],
        ['limit=%00', 'limit'],
        ['limit=1&limit=2', 'limit'],
        ['cursor=' + 'A'.repeat(5000), 'cursor'],
        ['cursor=%%%', 'cursor'],
        ['cursor=' + cursor(['2020-01-01T00:00:00.000Z', 5]), 'cursor'],
        ['cursor=' + cursor({ a: 1 }), 'cursor'],
        ['cursor=' + cursor(['-271821-04-20T00:00:00.000Z', 'x']), 'cursor'],
        ['cursor=' + cursor(['2020-01-01T00:00:00.000Z', "x' OR 1=1"]), 'cursor'],
      ]) {
        const res = await call(route, `${fill(route.path)}?${query}`);
        const label = `${route.path}?${query!.slice(0, 40)}`;
        expect4xx(res, label);
        expect(res.body.param, label).toBe(param);
      }
    }
  });

  it('handles bad header values with 4xx (or ignores them), never 5xx', async () => {
    const headerCases: Array<[string, string]> = [
      ['X-Org-Id', 'not-a-uuid'],
      ['X-Org-Id', `${org?.id ?? ''}, ${org?.id ?? ''}`],
      ['X-Org-Id', 'a'.repeat(4000)],
      ['X-Org-Id', "' OR 1=1 --"],
      ['Appstrate-Version', '9999-99-99'],
      ['Appstrate-Version', 'a'.repeat(4000)],
      ['Appstrate-Version', '2026-03-21, 2026-06-11'],
      ['Appstrate-User', 'eu_' + 'a'.repeat(4000)],
      ['Appstrate-User', "eu_' OR 1=1 --"],
      ['Appstrate-User', 'nope'],
      ['Authorization', 'Bearer ' + 'a'.repeat(4000)],
      ['Authorization', 'Basic dXNlcjpwYXNz'],
      ['Authorization', 'Bearer ask_' + 'G'.repeat(48)],
      ['Authorization', 'Bearer'],
      ['Authorization', 'ask_' + '0'.repeat(48)],
      ['Cookie', 'better-auth.session_token=' + 'a'.repeat(4000)],
      ['Cookie', 'better-auth.session_token=%%%; ;;='],
      ['traceparent', 'garbage'],
      ['Content-Type', 'application/json; charset=utf-16'],
      ['Request-Id', 'a'.repeat(4000)],
    ];
    // Deletes aim at ids that do not exist, so a request whose junk header is ignored changes nothing.
    const ghosts = { userId: 'ghost-user', keyId: '00000000-0000-4000-8000-000000000000', modelId: '00000000-0000-4000-8000-000000000000' };
    for (const route of ROUTES) {
      for (const [name, value] of headerCases) {
        const req = call(route, fill(route.path, route.method === 'delete' ? ghosts : {})).set(name, value);
        const res = route.body ? await req.send({}) : await req;
        expectNo5xx(res, `${route.method} ${route.path} ${name}: ${value.slice(0, 30)}`);
      }
    }
  });

  it('answers every route 401 problem+json without credentials, even with garbage input', async () => {
    for (const route of ROUTES) {
      const req = call(route, fill(route.path), true);
      const res = route.body ? await req.set('Content-Type', 'application/json').send('{bad') : await req;
      expect4xx(res, `${route.method} ${route.path}`);
      expect(res.body.code).toBe('unauthorized');
    }
  });

  it('keeps /health and /ready well-behaved under junk', async () => {
    for (const path of ['/health', '/ready']) {
      const res = await t.request().get(`${path}?x=${HUGE.slice(0, 2000)}`).set('Authorization', 'Bearer junk').set('X-Org-Id', 'junk');
      expect(res.status).toBe(200);
    }
  });

  it('answers 300 seeded generated requests across the API below 500, refusals as problem+json', async () => {
    const { next: random, pick } = seededRandom(20261129);
    const junk = () => pick(['', 'a', '%', '%zz', '%00', '..', '@', '%40x', '*', 'null', '-1', '1e999', '{}', 'x'.repeat(300), "'", 'run_1', 'eu_', '%2F']);
    const path = () =>
      pick([
        () => `/api/agents/@${junk()}/${junk()}/run`,
        () => `/api/agents/${junk()}/${junk()}/runs`,
        () => `/api/agents/@scope/${junk()}/versions`,
        () => `/api/agents/${junk()}`,
        () => '/api/agents',
        () => `/api/runs/${junk()}`,
        () => `/api/runs/run_${junk()}/${pick(['cancel', 'logs', 'events'])}`,
        () => '/api/runs',
        () => `/api/${pick(['models', 'api-keys', 'end-users', 'orgs'])}/${junk()}`,
        () => `/api/orgs/${junk()}/members/${junk()}`,
        () => `/api/${junk()}`,
      ])() + pick(['', `?version=${junk()}`, `?limit=${junk()}`, `?cursor=${junk()}`, `?status=${junk()}`, `?wait=${junk()}`, '?version=1&version=2', `?${junk()}=${junk()}`]);
    const bodies: Array<string | undefined> = [undefined, '', '{}', '[]', 'null', '{', '{"input":{"a":1}}', '{"input":1}', '{"metadata":{"a":1}}', `{"name":"${'n'.repeat(300)}"}`, '"x"', deep(100)];
    const types: Array<string | undefined> = [undefined, 'application/json', 'application/json', 'text/plain', 'multipart/form-data', 'json', 'application/json charset=utf-8'];
    const auths: Array<string | undefined> = [`Bearer ${key}`, `Bearer ${key}`, `Bearer ${key}`, undefined, 'Bearer', `Basic ${key}`, `Bearer ask_${'0'.repeat(48)}`, junk()];
    for (let i = 0; i < 300; i++) {
      const method = pick(['get', 'get', 'post', 'post', 'put', 'patch', 'delete', 'options', 'head'] as const);
      const target = path();
      let req = t.request()[method](target);
      const auth = pick(auths);
      if (auth !== undefined) req = req.set('Authorization', auth);
      for (const name of ['Appstrate-Version', 'Idempotency-Key', 'Appstrate-User', 'X-Org-Id']) {
        if (random() < 0.25) req = req.set(name, pick([junk(), '2026-03-21', '2026-06-11', 'eu_x']));
      }
      const type = pick(types);
      if (type !== undefined) req = req.set('Content-Type', type);
      // (supertest cannot send a HEAD request with a body: the raw tests above cover odd framing)
      const body = method === 'head' ? undefined : pick(bodies);
      const res = body === undefined ? await req : await req.send(body);
      const label = `#${i} ${method.toUpperCase()} ${target.slice(0, 80)} ${type ?? '-'} ${body?.slice(0, 40) ?? '-'}`;
      if (method === 'head') expect(res.status, label).toBeLessThan(500);
      else expectNo5xx(res, label);
    }
  });

  it('is still healthy afterwards: the fixtures are untouched', async () => {
    const members = await org.owner.agent.get(`/api/orgs/${org.id}/members`);
    expect(members.body.data.map((m: { userId: string }) => m.userId).sort()).toEqual([org.owner.id, member.id].sort());
    expect((await t.request().get(`/api/end-users/${ids.endUserId}`).set('Authorization', `Bearer ${key}`)).status).toBe(200);
    const [{ count }] = await t.db.query(`SELECT count(*)::int AS count FROM models WHERE org_id = $1`, [org.id]);
    expect(count).toBe(1);
  });
});
