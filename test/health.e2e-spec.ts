import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDependencies } from '../src/database/dependencies.js';
import { HealthService } from '../src/health/health.service.js';
import { WorkerHealthServer } from '../src/health/worker-health.server.js';
import { startApp, type TestApp } from './support/app.js';
import { expectProblem, signUp } from './support/factories.js';
import { Relay, via } from './support/relay.js';
import { testConfig } from './support/test-env.js';

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    value = await probe();
  }
  return value;
}

describe('liveness and readiness', () => {
  let t: TestApp;
  const base = testConfig();
  const pg = Relay.to(base.database.url, 5432);
  const redis = Relay.to(base.redis.url, 6379);

  beforeAll(async () => {
    await pg.up();
    await redis.up();
    t = await startApp({ DATABASE_URL: via(base.database.url, pg.port), REDIS_URL: via(base.redis.url, redis.port), PROCESS_ROLE: 'api' });
  });
  afterAll(async () => {
    await pg.up().catch(() => undefined);
    await redis.up().catch(() => undefined);
    await t.close();
    await pg.down();
    await redis.down();
  });

  const ready = () => t.request().get('/ready');

  it('answers /health and /ready 200 without credentials, with a Request-Id', async () => {
    const health = await t.request().get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    expect(health.headers['request-id']).toMatch(/^req_/);
    const res = await ready();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', checks: { postgres: 'up', redis: 'up' } });
  });

  it('answers /ready 503 naming Redis while Redis is down, /health staying 200, and recovers', async () => {
    await redis.down();
    const down = await until(ready, (r) => r.status === 503);
    expect(expectProblem(down, 503, 'service_unavailable').detail).toMatch(/Redis/);
    expect(down.body.detail).not.toMatch(/PostgreSQL/);
    expect((await t.request().get('/health')).status).toBe(200);
    await redis.up();
    expect((await until(ready, (r) => r.status === 200)).status).toBe(200);
  });

  it('answers /ready 503 naming PostgreSQL while PostgreSQL is down, /health staying 200, and recovers', async () => {
    // Leave idle connections in every pool (TypeORM's and Better Auth's) for the cut to break.
    const user = await signUp(t);
    expect((await user.agent.get('/api/orgs')).status).toBe(200);
    await pg.down();
    const down = await until(ready, (r) => r.status === 503);
    expect(expectProblem(down, 503, 'service_unavailable').detail).toMatch(/PostgreSQL/);
    expect((await t.request().get('/health')).status).toBe(200);
    // A real session cannot be checked: 503 (retry), not 401 (which would tell the client to sign in again).
    expect(expectProblem(await user.agent.get('/api/orgs'), 503, 'service_unavailable').retryAfter).toBe(1);
    // A forged cookie fails its signature check, which needs no database.
    expectProblem(await t.request().get('/api/orgs').set('Cookie', 'better-auth.session_token=x.y'), 401, 'unauthorized');
    await pg.up();
    expect((await until(ready, (r) => r.status === 200)).status).toBe(200);
    // Sessions work again once PostgreSQL is back.
    expect((await until(() => user.agent.get('/api/orgs'), (r) => r.status === 200)).status).toBe(200);
  });
});

describe('the probe server of a worker-only process (WORKER_HEALTH_PORT)', () => {
  let worker: TestApp;
  let api: TestApp;
  const base = testConfig();
  const pg = Relay.to(base.database.url, 5432);
  let url = '';

  beforeAll(async () => {
    await pg.up();
    worker = await startApp({ PROCESS_ROLE: 'worker', WORKER_HEALTH_PORT: '0', DATABASE_URL: via(base.database.url, pg.port) });
    api = await startApp({ PROCESS_ROLE: 'api', WORKER_HEALTH_PORT: '0' });
    url = `http://127.0.0.1:${worker.app.get(WorkerHealthServer).port}`;
  });
  afterAll(async () => {
    await pg.up().catch(() => undefined);
    await api?.close();
    await worker?.close();
    await pg.down();
  });

  const probe = async (path: string, method = 'GET') => {
    const res = await fetch(`${url}${path}`, { method });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), requestId: res.headers.get('request-id'), body: text ? JSON.parse(text) : null };
  };

  it('answers GET /health and /ready like the API, and nothing else', async () => {
    expect(await probe('/health')).toMatchObject({ status: 200, body: { status: 'ok' }, requestId: expect.stringMatching(/^req_/) });
    expect(await probe('/ready')).toMatchObject({ status: 200, body: { status: 'ok', checks: { postgres: 'up', redis: 'up' } } });
    for (const path of ['/', '/api/runs', '/healthz']) {
      const res = await probe(path);
      expect([res.status, res.type, res.body.code], path).toEqual([404, 'application/problem+json', 'not_found']);
    }
    const post = await probe('/ready', 'POST');
    expect([post.status, post.body.code, post.body.title]).toEqual([405, 'method_not_allowed', 'Method Not Allowed']);
  });

  it('answers /ready 503 naming PostgreSQL while PostgreSQL is down, /health staying 200', async () => {
    await pg.down();
    const down = await until(() => probe('/ready'), (r) => r.status === 503);
    expect([down.type, down.body.code, down.body.status]).toEqual(['application/problem+json', 'service_unavailable', 503]);
    expect(down.body.detail).toMatch(/PostgreSQL/);
    expect((await probe('/health')).status).toBe(200);
    await pg.up();
    expect((await until(() => probe('/ready'), (r) => r.status === 200)).status).toBe(200);
  });

  it('is not started by a process that serves the API, and closes with its worker', async () => {
    expect(api.app.get(WorkerHealthServer).port).toBeNull();
    const other = await startApp({ PROCESS_ROLE: 'worker', WORKER_HEALTH_PORT: '0' });
    const port = other.app.get(WorkerHealthServer).port;
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    await other.close();
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it('refuses to start on a port already taken, naming the setting', async () => {
    const taken = worker.app.get(WorkerHealthServer).port!;
    // The server alone, as a second worker would boot it (a whole app failing to boot would leave its connections open here).
    const second = new WorkerHealthServer(worker.app.get(HealthService), { ...worker.config, worker: { ...worker.config.worker, healthPort: taken } });
    await expect(second.onApplicationBootstrap()).rejects.toThrow(new RegExp(`^WORKER_HEALTH_PORT ${taken}: .*EADDRINUSE`));
    expect(second.port).toBeNull();
  });
});

describe('an app started while Redis is unreachable', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ REDIS_URL: 'redis://127.0.0.1:6390', PROCESS_ROLE: 'api' });
  });
  afterAll(() => t.close());

  it('stays live but not ready', async () => {
    expect((await t.request().get('/health')).status).toBe(200);
    const res = await t.request().get('/ready');
    expect(expectProblem(res, 503, 'service_unavailable').detail).toMatch(/Redis/);
    expect(res.headers['retry-after']).toBeDefined();
  });
});

describe('start-up dependency check', () => {
  const base = testConfig();

  it('passes when PostgreSQL and Redis answer', async () => {
    await expect(checkDependencies(base)).resolves.toBeUndefined();
  });

  it('names PostgreSQL and where it was looked for, hiding the password', async () => {
    const config = { ...base, database: { ...base.database, url: 'postgres://app:s3cret-pw@127.0.0.1:5499/appdb' } };
    const error = await checkDependencies(config).then(() => null, (e: Error & { startup?: boolean }) => e);
    expect(error?.startup).toBe(true);
    expect(error?.message).toMatch(/^PostgreSQL is unreachable at postgres:\/\/app:\*\*\*@127\.0\.0\.1:5499\/appdb/);
    expect(error?.message).not.toContain('s3cret-pw');
    expect(error?.message).not.toContain('\n');
  });

  it('names Redis and where it was looked for', async () => {
    const config = { ...base, redis: { url: 'redis://:hunter2@127.0.0.1:6390/0' } };
    const error = await checkDependencies(config).then(() => null, (e: Error & { startup?: boolean }) => e);
    expect(error?.startup).toBe(true);
    expect(error?.message).toMatch(/^Redis is unreachable at redis:\/\/:\*\*\*@127\.0\.0\.1:6390\/0/);
    expect(error?.message).not.toContain('hunter2');
  });
});
