import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './support/app.js';

interface Operation {
  responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
  security?: Array<Record<string, unknown>>;
  parameters?: Array<{ name: string; in: string }>;
}

/** Every route the app serves, as `METHOD /openapi/{path}` (catch-alls, the docs UI and implied HEADs aside). */
function servedRoutes(t: TestApp): string[] {
  return t.routes
    .filter(({ method, url }) => method !== 'HEAD' && !url.includes('*') && !url.startsWith('/api/docs') && !url.startsWith('/api/openapi.'))
    .map(({ method, url }) => `${method} ${url.replace(/:(\w+)/g, '{$1}')}`);
}

describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: { openapi: string; paths: Record<string, Record<string, Operation>>; components: Record<string, Record<string, any>> };

  beforeAll(async () => {
    t = await startApp();
    const res = await t.request().get('/api/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(() => t.close());

  const operation = (route: string): Operation | undefined => {
    const [method, path] = route.split(' ');
    return doc.paths[path!]?.[method!.toLowerCase()];
  };

  it('is OpenAPI 3.1 with the cookie and bearer security schemes', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const schemes = doc.components.securitySchemes;
    expect(schemes.session).toEqual(expect.objectContaining({ type: 'apiKey', in: 'cookie', name: 'better-auth.session_token' }));
    expect(schemes.apiKey).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
  });

  it('documents the four Better Auth routes', () => {
    for (const route of ['POST /api/auth/sign-up/email', 'POST /api/auth/sign-in/email', 'POST /api/auth/sign-out', 'GET /api/auth/get-session']) {
      expect(operation(route), route).toBeDefined();
    }
  });

  it('documents every route the app serves', () => {
    const routes = servedRoutes(t);
    expect(routes).toEqual(expect.arrayContaining(['POST /api/orgs', 'GET /api/end-users/{id}', 'DELETE /api/models/{id}', 'GET /health', 'GET /ready']));
    const missing = routes.filter((route) => !operation(route));
    expect(missing).toEqual([]);
  });

  it('documents error responses as problem+json on every route, with Request-Id on every response', () => {
    for (const route of servedRoutes(t)) {
      const op = operation(route)!;
      const errors = Object.entries(op.responses).filter(([status]) => Number(status) >= 400);
      expect(errors.length, route).toBeGreaterThan(0);
      for (const [status, response] of errors) {
        expect(response.content?.['application/problem+json'], `${route} ${status}`).toBeDefined();
      }
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.headers?.['Request-Id'], `${route} ${status}`).toBeDefined();
      }
      const authenticated = (op.security ?? []).length > 0;
      if (authenticated) {
        for (const status of ['400', '401', '403']) expect(op.responses[status], `${route} ${status}`).toBeDefined();
        // Only what names something by path can be not found (an unknown org is 403, an empty filter an empty list).
        expect(op.responses['404'] !== undefined, `${route} 404`).toBe(route.includes('{'));
        expect(op.responses['401']!.headers?.['WWW-Authenticate'], route).toBeDefined();
        const headers = (op.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
        expect(headers, route).toContain('Appstrate-Version');
      }
    }
  });

  it('documents limit and cursor, once each, on every cursor-paged list', () => {
    const lists = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => JSON.stringify(op.responses['200'] ?? {}).includes('ListEnvelopeDto'))
        .map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, names: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name) })),
    );
    expect(lists.map((l) => l.route)).toEqual(
      expect.arrayContaining(['GET /api/orgs', 'GET /api/orgs/{orgId}/members', 'GET /api/api-keys', 'GET /api/runs', 'GET /api/agents/{scope}/{name}/versions']),
    );
    for (const { route, names } of lists) {
      expect({ route, paging: names.filter((n) => n === 'limit' || n === 'cursor').sort() }).toEqual({ route, paging: ['cursor', 'limit'] });
    }
  });

  it('closes every request body schema, nested manifest parts included (unknown fields are refused)', () => {
    const schemas = doc.components.schemas;
    for (const name of ['CreateRunJsonDto', 'CreateOrgDto', 'CreateAgentDto', 'AgentManifestDto', 'ManifestInputDto', 'FileConstraintDto', 'CreateModelDto']) {
      expect({ name, additionalProperties: schemas[name].additionalProperties }).toEqual({ name, additionalProperties: false });
    }
    expect(schemas.RunDto.additionalProperties).toBeUndefined();
    expect(schemas.CreateEndUserDto.properties.externalId).toMatchObject({ type: ['string', 'null'] });
  });

  it('documents the run route’s refusals with the headers they carry, and run outputs as any JSON value', () => {
    const run = operation('POST /api/agents/{scope}/{name}/run')!;
    for (const status of ['403', '404', '409', '413', '415', '422', '429', '503']) {
      expect(Object.keys(run.responses[status]!.headers ?? {}), status).toEqual(expect.arrayContaining(['RateLimit-Policy', 'RateLimit']));
    }
    for (const status of ['400', '404', '413', '422']) expect(run.responses[status]!.headers?.['Idempotent-Replayed'], status).toBeDefined();
    expect(run.responses['401']!.headers?.['RateLimit']).toBeUndefined();
    const output = doc.components.schemas.RunResultDto.properties.output;
    expect(output.type).toBeUndefined();
    expect(output.oneOf.map((s: { type: string }) => s.type)).toEqual(expect.arrayContaining(['object', 'string']));
    expect(doc.components.schemas.RunLogEntryDto.required).toContain('data');
  });

  it('documents the events stream’s Last-Event-ID and 503, and run_not_found on a run’s routes', () => {
    const events = operation('GET /api/runs/{runId}/events')!;
    expect((events.parameters ?? []).map((p) => p.name)).toContain('Last-Event-ID');
    expect(events.responses['503']).toBeDefined();
    expect(operation('GET /api/runs/{runId}/logs')!.responses['503']).toBeUndefined();
    const example = (route: string) => JSON.stringify(operation(route)!.responses['404']!.content);
    for (const route of ['GET /api/runs/{runId}', 'GET /api/runs/{runId}/logs', 'POST /api/runs/{runId}/cancel']) expect(example(route), route).toContain('run_not_found');
  });

  it('documents 409 conflict where a unique name or the last owner can refuse a write', () => {
    for (const route of ['POST /api/orgs', 'POST /api/orgs/{orgId}/members', 'PATCH /api/orgs/{orgId}/members/{userId}', 'DELETE /api/orgs/{orgId}/members/{userId}', 'POST /api/end-users', 'POST /api/models']) {
      expect(JSON.stringify(operation(route)!.responses['409']?.content ?? null), route).toContain('conflict');
    }
  });

  it('describes Better Auth’s answers as it sends them', () => {
    const signUp = operation('POST /api/auth/sign-up/email')!;
    expect(Object.keys(signUp.responses).sort()).toEqual(['200', '400', '422']);
    expect(JSON.stringify(signUp.responses['200']!.content)).toContain('"token"');
    expect(JSON.stringify(operation('GET /api/auth/get-session')!.responses['200']!.content)).toContain('null');
  });

  it('states the limits the server enforces: metadata keys, key scopes, X-Org-Id on session-only routes', () => {
    const schemas = doc.components.schemas;
    for (const name of ['CreateRunJsonDto', 'CreateEndUserDto']) {
      expect(schemas[name].properties.metadata, name).toMatchObject({ propertyNames: { minLength: 1, maxLength: 40 }, maxProperties: 20 });
    }
    expect(schemas.CreateApiKeyDto.properties.scopes).toMatchObject({ minItems: 1, maxItems: 32 });
    const orgHeader = (route: string) => (operation(route)!.parameters as Array<{ name: string; required?: boolean }>).find((p) => p.name === 'X-Org-Id');
    expect(orgHeader('POST /api/api-keys')?.required).toBe(true);
    expect(orgHeader('POST /api/end-users')?.required).toBe(false);
  });

  it('types every parameter', () => {
    const untyped = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([method, op]) =>
        ((op.parameters ?? []) as Array<{ name: string; schema?: { type?: unknown } }>).filter((p) => !p.schema?.type).map((p) => `${method} ${path} ${p.name}`),
      ),
    );
    expect(untyped).toEqual([]);
  });

  it('documents how each authenticated route is reached: session only or session and key', () => {
    const security = (route: string) => (operation(route)!.security ?? []).flatMap((s) => Object.keys(s)).sort();
    expect(security('POST /api/api-keys')).toEqual(['session']);
    expect(security('POST /api/orgs')).toEqual(['session']);
    expect(security('POST /api/end-users')).toEqual(['apiKey', 'session']);
    expect(security('GET /health')).toEqual([]);
  });

  it('describes the problem shape once, with the closed list of codes', () => {
    const problem = doc.components.schemas.Problem;
    expect(problem.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'detail', 'instance', 'code', 'requestId']));
    expect(problem.properties.code.enum).toEqual(expect.arrayContaining(['validation_failed', 'unsupported_api_version', 'invalid_end_user', 'service_unavailable']));
  });

  it('never documents a model API key as readable', () => {
    const model = doc.components.schemas.ModelDto;
    expect(model.properties.apiKey).toBeUndefined();
    expect(doc.components.schemas.CreateModelDto.properties.apiKey).toBeDefined();
  });

  it('answers an unknown Swagger UI asset 404 problem+json', async () => {
    const res = await t.request().get('/api/docs/nope.js');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body.code).toBe('not_found');
  });

  it('serves Swagger UI at /api/docs', async () => {
    const res = await t.request().get('/api/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});
