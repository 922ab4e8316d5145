import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';
import { createAgent, DEFAULT_TEST_MANIFEST } from './support/agents.js';
import { addMember, createApiKey, createOrg, expectProblem, type TestOrg } from './support/factories.js';

/** API.md section 3: agents and their live working copy, manifest validation, tenancy, permissions. */
describe('agents', () => {
  let t: TestApp;
  let org: TestOrg;

  const as = (o: TestOrg) => ({
    get: (path: string) => o.owner.agent.get(path).set('X-Org-Id', o.id),
    post: (path: string, body?: object) => o.owner.agent.post(path).set('X-Org-Id', o.id).send(body),
    put: (path: string, body?: object) => o.owner.agent.put(path).set('X-Org-Id', o.id).send(body),
  });
  const agentCount = async (orgId: string): Promise<number> =>
    Number((await t.db.query('SELECT count(*)::int AS n FROM agents WHERE org_id = $1', [orgId]))[0].n);

  beforeAll(async () => {
    t = await startApp();
    org = await createOrg(t);
  });
  afterAll(() => t.close());

  describe('create', () => {
    it('creates an agent and answers 201 with the resource', async () => {
      const res = await as(org).post('/api/agents', { scope: '@acme', name: 'triage', manifest: DEFAULT_TEST_MANIFEST, prompt: 'Triage it.' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        scope: '@acme',
        name: 'triage',
        manifest: DEFAULT_TEST_MANIFEST,
        prompt: 'Triage it.',
        distTags: {},
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
      expect(res.headers['appstrate-version']).toBe('2026-03-21');
    });

    it('refuses the same scope and name again with 409, leaving one agent', async () => {
      const o = await createOrg(t);
      const body = { scope: '@dup', name: 'same', manifest: {}, prompt: 'p' };
      expect((await as(o).post('/api/agents', body)).status).toBe(201);
      expectProblem(await as(o).post('/api/agents', { ...body, prompt: 'other' }), 409, 'conflict');
      expect(await agentCount(o.id)).toBe(1);
    });

    it.each<[string, object, string, string]>([
      ['scope without @', { scope: 'acme' }, 'scope', 'invalid'],
      ['uppercase scope', { scope: '@Acme' }, 'scope', 'invalid'],
      ['name with an underscore', { name: 'tri_age' }, 'name', 'invalid'],
      ['name starting with a dash', { name: '-x' }, 'name', 'invalid'],
      ['missing prompt', { prompt: undefined }, 'prompt', 'invalid'],
      ['empty prompt', { prompt: '' }, 'prompt', 'invalid'],
      ['missing manifest', { manifest: undefined }, 'manifest', 'invalid'],
      ['manifest as an array', { manifest: [] }, 'manifest', 'invalid'],
      ['an unknown body field', { extra: true }, 'extra', 'unknown_field'],
    ])('refuses %s with 400 validation_failed, creating nothing', async (_label, patch, field, code) => {
      const o = await createOrg(t);
      const res = await as(o).post('/api/agents', { scope: '@ok', name: 'ok', manifest: {}, prompt: 'p', ...patch });
      const problem = expectProblem(res, 400, 'validation_failed');
      expect(problem.errors).toContainEqual(expect.objectContaining({ field, code }));
      expect(await agentCount(o.id)).toBe(0);
    });

    it('refuses a body that is not JSON', async () => {
      const res = await org.owner.agent.post('/api/agents').set('X-Org-Id', org.id).set('Content-Type', 'application/json').send('{"scope":');
      expectProblem(res, 400, 'invalid_request');
    });
  });

  describe('manifest validation on write', () => {
    const fileSchema = {
      type: 'object',
      properties: {
        ticket: { type: 'string' },
        attachment: { type: 'string', format: 'uri', contentMediaType: 'application/pdf' },
        photos: { type: 'array', maxItems: 2, items: { type: 'string', format: 'uri', contentMediaType: 'image/*' } },
      },
    };

    it('accepts file fields with their constraints', async () => {
      const manifest = {
        model: 'fast',
        input: { schema: fileSchema, fileConstraints: { attachment: { accept: '.pdf', maxSize: 5242880 }, photos: { accept: 'image/png,.jpg' } } },
      };
      const agent = await createAgent(t, org, { manifest });
      const res = await as(org).get(agent.path);
      expect(res.body.manifest).toEqual(manifest);
    });

    it('stores schemas exactly as written (nulls, booleans, $defs, nested arrays)', async () => {
      const manifest = {
        input: {
          schema: {
            $schema: 'https://json-schema.org/draft/2020-12/schema',
            type: 'object',
            $defs: { level: { enum: ['low', 'high', null] } },
            properties: {
              level: { $ref: '#/$defs/level' },
              pair: { type: 'array', prefixItems: [{ type: 'integer' }, true], items: false },
              note: { type: ['string', 'null'], default: null, const: null },
              when: { type: 'string', format: 'date-time', examples: ['2026-01-01T00:00:00Z'] },
            },
            additionalProperties: false,
          },
        },
        output: { schema: true },
      };
      const agent = await createAgent(t, org, { manifest });
      expect((await as(org).get(agent.path)).body.manifest).toEqual(manifest);
    });

    it.each<[string, unknown, string]>([
      ['an unknown top-level key', { ...DEFAULT_TEST_MANIFEST, tools: [] }, 'manifest.tools'],
      ['an invalid input schema', { input: { schema: { type: 'object', properties: { a: { type: 'strin' } } } } }, 'manifest.input.schema.properties.a.type'],
      ['an unknown schema keyword', { input: { schema: { type: 'object', requried: ['a'] } } }, 'manifest.input.schema'],
      ['an invalid output schema', { output: { schema: { type: 'string', minLength: -1 } } }, 'manifest.output.schema.minLength'],
      ['a bad regular expression', { output: { schema: { type: 'string', pattern: '[' } } }, 'manifest.output.schema'],
      ['a pattern that cannot run in linear time (backreference)', { input: { schema: { type: 'string', pattern: '(a)\\1' } } }, 'manifest.input.schema'],
      ['a pattern with a u-only escape', { input: { schema: { type: 'string', pattern: '^\\p{L}+$' } } }, 'manifest.input.schema'],
      ['a $schema of another draft', { input: { schema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' } } }, 'manifest.input.schema'],
      ['a $schema that is not a string', { output: { schema: { $schema: 1 } } }, 'manifest.output.schema'],
      // Never dropped silently (Nest's pipe deletes such keys): refused, wherever they are.
      ['a schema property named constructor', { input: { schema: { type: 'object', properties: { constructor: { type: 'string' } } } } }, 'manifest.input.schema.properties.constructor'],
      ['a key named __proto__', { output: { schema: JSON.parse('{"properties": {"__proto__": {}}}') } }, 'manifest.output.schema.properties.__proto__'],
      ['timeoutSeconds 0', { timeoutSeconds: 0 }, 'manifest.timeoutSeconds'],
      ['timeoutSeconds 1801', { timeoutSeconds: 1801 }, 'manifest.timeoutSeconds'],
      ['an empty model', { model: '' }, 'manifest.model'],
      ['fileConstraints on a field that is not a file field', { input: { schema: fileSchema, fileConstraints: { ticket: { accept: '.pdf' } } } }, 'manifest.input.fileConstraints.ticket'],
      ['a bad accept list', { input: { schema: fileSchema, fileConstraints: { attachment: { accept: 'pdf' } } } }, 'manifest.input.fileConstraints.attachment.accept'],
      ['a bad maxSize', { input: { schema: fileSchema, fileConstraints: { attachment: { maxSize: -5 } } } }, 'manifest.input.fileConstraints.attachment.maxSize'],
    ])('refuses %s with 400 validation_failed pointing at it, creating nothing', async (_label, manifest, field) => {
      const o = await createOrg(t);
      const res = await as(o).post('/api/agents', { scope: '@bad', name: 'manifest', manifest, prompt: 'p' });
      const problem = expectProblem(res, 400, 'validation_failed');
      expect(problem.errors).toContainEqual(expect.objectContaining({ field }));
      expect(await agentCount(o.id)).toBe(0);
    });
  });

  describe('read and list', () => {
    it('reads an agent by @scope/name, with the @ percent-encoded too', async () => {
      const agent = await createAgent(t, org);
      const plain = await as(org).get(agent.path);
      expect(plain.status).toBe(200);
      expect(plain.body).toMatchObject({ id: agent.id, scope: agent.scope, name: agent.name, distTags: {} });
      const encoded = await as(org).get(`/api/agents/%40${agent.scope.slice(1)}/${agent.name}`);
      expect(encoded.status).toBe(200);
      expect(encoded.body).toEqual(plain.body);
    });

    it('refuses path parameters outside their patterns with 400 naming them', async () => {
      expect(expectProblem(await as(org).get('/api/agents/acme/triage'), 400, 'invalid_request').param).toBe('scope');
      expect(expectProblem(await as(org).get('/api/agents/@ACME/triage'), 400, 'invalid_request').param).toBe('scope');
      expect(expectProblem(await as(org).get('/api/agents/@acme/Tri_age'), 400, 'invalid_request').param).toBe('name');
      expect(expectProblem(await as(org).get(`/api/agents/@acme/${'a'.repeat(129)}`), 400, 'invalid_request').param).toBe('name');
    });

    it('answers 404 agent_not_found for an unknown agent', async () => {
      expectProblem(await as(org).get('/api/agents/@nobody/nothing'), 404, 'agent_not_found');
      // The longest valid name still reaches the route (the router's own parameter limit is higher).
      expectProblem(await as(org).get(`/api/agents/@nobody/${'a'.repeat(128)}`), 404, 'agent_not_found');
    });

    it('lists the org’s agents newest first with cursor paging', async () => {
      const o = await createOrg(t);
      const a = await createAgent(t, o);
      const b = await createAgent(t, o);
      const c = await createAgent(t, o);
      const first = await as(o).get('/api/agents?limit=2');
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ object: 'list', hasMore: true, nextCursor: expect.any(String) });
      expect(first.body.data.map((x: { id: string }) => x.id)).toEqual([c.id, b.id]);
      expect(first.body.data[0]).toMatchObject({ scope: c.scope, name: c.name, manifest: DEFAULT_TEST_MANIFEST, distTags: {} });
      const second = await as(o).get(`/api/agents?limit=2&cursor=${first.body.nextCursor}`);
      expect(second.body).toMatchObject({ object: 'list', hasMore: false, nextCursor: null });
      expect(second.body.data.map((x: { id: string }) => x.id)).toEqual([a.id]);
      const all = await as(o).get('/api/agents');
      expect(all.body.data).toHaveLength(3);
    });

    it('refuses a bad limit or cursor with 400 naming it', async () => {
      expect(expectProblem(await as(org).get('/api/agents?limit=0'), 400, 'invalid_request').param).toBe('limit');
      expect(expectProblem(await as(org).get('/api/agents?limit=101'), 400, 'invalid_request').param).toBe('limit');
      expect(expectProblem(await as(org).get('/api/agents?limit=abc'), 400, 'invalid_request').param).toBe('limit');
      expect(expectProblem(await as(org).get('/api/agents?cursor=garbage!'), 400, 'invalid_request').param).toBe('cursor');
      const wellFormedForeign = Buffer.from(JSON.stringify([new Date().toISOString(), 'not-a-uuid'])).toString('base64url');
      expect(expectProblem(await as(org).get(`/api/agents?cursor=${wellFormedForeign}`), 400, 'invalid_request').param).toBe('cursor');
    });
  });

  describe('update the live agent', () => {
    it('replaces the manifest and/or prompt and bumps updatedAt', async () => {
      const agent = await createAgent(t, org);
      const before = (await as(org).get(agent.path)).body;
      const manifest = { description: 'v2', timeoutSeconds: 1800 };
      const res = await as(org).put(agent.path, { manifest });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: agent.id, manifest, prompt: before.prompt });
      expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
      const prompted = await as(org).put(agent.path, { prompt: 'New prompt.' });
      expect(prompted.body).toMatchObject({ manifest, prompt: 'New prompt.' });
      expect((await as(org).get(agent.path)).body).toMatchObject({ manifest, prompt: 'New prompt.' });
      const nothing = await as(org).put(agent.path, {});
      expect(nothing.status).toBe(200);
      expect(nothing.body).toMatchObject({ manifest, prompt: 'New prompt.' });
    });

    it('refuses an invalid manifest or prompt and changes nothing', async () => {
      const agent = await createAgent(t, org);
      const before = (await as(org).get(agent.path)).body;
      const bad = expectProblem(await as(org).put(agent.path, { manifest: { timeoutSeconds: 5000 }, prompt: 'changed' }), 400, 'validation_failed');
      expect(bad.errors).toContainEqual(expect.objectContaining({ field: 'manifest.timeoutSeconds' }));
      expect(expectProblem(await as(org).put(agent.path, { prompt: null }), 400, 'validation_failed').errors).toContainEqual(
        expect.objectContaining({ field: 'prompt' }),
      );
      expect(expectProblem(await as(org).put(agent.path, { manifest: null }), 400, 'validation_failed').errors).toContainEqual(
        expect.objectContaining({ field: 'manifest' }),
      );
      expect(expectProblem(await as(org).put(agent.path, { scope: '@other' }), 400, 'validation_failed').errors).toContainEqual(
        expect.objectContaining({ field: 'scope', code: 'unknown_field' }),
      );
      expect((await as(org).get(agent.path)).body).toEqual(before);
    });

    it('answers 404 for an unknown agent and 400 for a bad path', async () => {
      expectProblem(await as(org).put('/api/agents/@nobody/nothing', { prompt: 'x' }), 404, 'agent_not_found');
      expect(expectProblem(await as(org).put('/api/agents/nobody/nothing', { prompt: 'x' }), 400, 'invalid_request').param).toBe('scope');
    });
  });

  describe('tenancy', () => {
    it('never shows or changes another organization’s agent: 404, never 403', async () => {
      const mine = await createAgent(t, org, { scope: '@iso', name: 'lated' });
      const other = await createOrg(t);
      const key = await createApiKey(t, other);
      const viaKey = (method: 'get' | 'put' | 'post', path: string) =>
        t.request()[method](path).set('Authorization', `Bearer ${key.key}`);

      expectProblem(await as(other).get(mine.path), 404, 'agent_not_found');
      expectProblem(await viaKey('get', mine.path), 404, 'agent_not_found');
      expectProblem(await as(other).put(mine.path, { prompt: 'hijack' }), 404, 'agent_not_found');
      expectProblem(await viaKey('put', mine.path).send({ prompt: 'hijack' }), 404, 'agent_not_found');
      expectProblem(await as(other).post(`${mine.path}/versions`, { version: '1.0.0' }), 404, 'agent_not_found');
      expectProblem(await as(other).get(`${mine.path}/versions`), 404, 'agent_not_found');
      expect((await as(other).get('/api/agents')).body.data).toEqual([]);
      expect((await as(org).get(mine.path)).body.prompt).toBe('You triage tickets.');

      // The same scope/name is free in another organization.
      const twin = await createAgent(t, other, { scope: '@iso', name: 'lated' });
      expect(twin.id).not.toBe(mine.id);
    });

    it('an API key with X-Org-Id of another org is refused', async () => {
      const other = await createOrg(t);
      const key = await createApiKey(t, other);
      const res = await t.request().get('/api/agents').set('Authorization', `Bearer ${key.key}`).set('X-Org-Id', org.id);
      expectProblem(res, 403, 'forbidden');
    });
  });

  describe('permissions', () => {
    it('a viewer can read but not write', async () => {
      const o = await createOrg(t);
      const agent = await createAgent(t, o);
      const viewer = await addMember(t, o, 'viewer');
      const v = (req: ReturnType<typeof viewer.agent.get>) => req.set('X-Org-Id', o.id);
      expect((await v(viewer.agent.get('/api/agents'))).status).toBe(200);
      expect((await v(viewer.agent.get(agent.path))).status).toBe(200);
      expect((await v(viewer.agent.get(`${agent.path}/versions`))).status).toBe(200);
      const writes = [
        v(viewer.agent.post('/api/agents')).send({ scope: '@v', name: 'v', manifest: {}, prompt: 'p' }),
        v(viewer.agent.put(agent.path)).send({ prompt: 'x' }),
        v(viewer.agent.post(`${agent.path}/versions`)).send({ version: '1.0.0' }),
        v(viewer.agent.post(`${agent.path}/versions/1.0.0/yank`)),
        v(viewer.agent.put(`${agent.path}/dist-tags/beta`)).send({ version: '1.0.0' }),
        v(viewer.agent.delete(`${agent.path}/dist-tags/beta`)),
      ];
      for (const res of await Promise.all(writes)) {
        expect(expectProblem(res, 403, 'forbidden').detail).toContain('agents:write');
      }
      expect(await agentCount(o.id)).toBe(1);
      expect((await as(o).get(agent.path)).body.prompt).toBe('You triage tickets.');
    });

    it('a member can write', async () => {
      const o = await createOrg(t);
      const member = await addMember(t, o, 'member');
      const res = await member.agent.post('/api/agents').set('X-Org-Id', o.id).send({ scope: '@m', name: 'm', manifest: {}, prompt: 'p' });
      expect(res.status).toBe(201);
    });

    it('an API key scoped to agents:read can read but not write; one with agents:write can', async () => {
      const o = await createOrg(t);
      const agent = await createAgent(t, o);
      const reader = await createApiKey(t, o, { scopes: ['agents:read'] });
      const writer = await createApiKey(t, o, { scopes: ['agents:read', 'agents:write'] });
      const bearer = (k: { key: string }) => `Bearer ${k.key}`;
      expect((await t.request().get(agent.path).set('Authorization', bearer(reader))).status).toBe(200);
      expect((await t.request().get('/api/agents').set('Authorization', bearer(reader))).status).toBe(200);
      const refused = await t.request().put(agent.path).set('Authorization', bearer(reader)).send({ prompt: 'x' });
      expect(expectProblem(refused, 403, 'forbidden').detail).toContain('agents:write');
      expectProblem(
        await t.request().post('/api/agents').set('Authorization', bearer(reader)).send({ scope: '@k', name: 'k', manifest: {}, prompt: 'p' }),
        403,
        'forbidden',
      );
      expect(await agentCount(o.id)).toBe(1);
      const created = await t.request().post('/api/agents').set('Authorization', bearer(writer)).send({ scope: '@k', name: 'k', manifest: {}, prompt: 'p' });
      expect(created.status).toBe(201);
      const noRead = await createApiKey(t, o, { scopes: ['runs:read'] });
      expectProblem(await t.request().get(agent.path).set('Authorization', bearer(noRead)), 403, 'forbidden');
    });

    it('needs credentials', async () => {
      expectProblem(await t.request().get('/api/agents'), 401, 'unauthorized');
      expectProblem(await t.request().post('/api/agents').send({}), 401, 'unauthorized');
    });
  });

  it('documents every catalogue route in OpenAPI, with the manifest shape and error answers', async () => {
    const doc = (await t.request().get('/api/openapi.json')).body;
    const paths = doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    const expected: Array<[string, string]> = [
      ['/api/agents', 'post'],
      ['/api/agents', 'get'],
      ['/api/agents/{scope}/{name}', 'get'],
      ['/api/agents/{scope}/{name}', 'put'],
      ['/api/agents/{scope}/{name}/versions', 'post'],
      ['/api/agents/{scope}/{name}/versions', 'get'],
      ['/api/agents/{scope}/{name}/versions/{version}', 'get'],
      ['/api/agents/{scope}/{name}/versions/{version}/yank', 'post'],
      ['/api/agents/{scope}/{name}/dist-tags/{tag}', 'put'],
      ['/api/agents/{scope}/{name}/dist-tags/{tag}', 'delete'],
    ];
    for (const [path, method] of expected) {
      expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
      // 404 where the path names an agent; listing or creating cannot be "not found".
      const statuses = path === '/api/agents' ? ['400', '401', '403'] : ['400', '401', '403', '404'];
      expect(Object.keys(paths[path]![method]!.responses)).toEqual(expect.arrayContaining(statuses));
    }
    expect(paths['/api/agents']!.post!.responses['409']).toBeDefined();
    expect(paths['/api/agents/{scope}/{name}/versions']!.post!.responses['409']).toBeDefined();
    expect(paths['/api/agents/{scope}/{name}/dist-tags/{tag}']!.delete!.responses['409']).toBeDefined();
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.AgentManifestDto.properties).sort()).toEqual(['description', 'input', 'model', 'output', 'timeoutSeconds']);
    expect(schemas.ManifestInputDto.properties.fileConstraints).toBeDefined();
  });
});
