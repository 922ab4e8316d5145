import type { DestinationStream } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from './support/agents.js';
import { exchangeRaw, startApp, type TestApp } from './support/app.js';
import { createApiKey, createOrg } from './support/factories.js';
import { Relay, via } from './support/relay.js';
import { testConfig } from './support/test-env.js';

/** Collects the JSON lines a logger writes. */
function captureLogs(): DestinationStream & { lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
}

/** The access-log lines written so far ('finish' may come just after the client has the answer). */
async function accessLines(logs: ReturnType<typeof captureLogs>, count: number): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + 2000;
  const found = () => logs.lines.filter((l) => l.msg === 'request');
  while (found().length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return found();
}

describe('access log', () => {
  describe('at level info', () => {
    let t: TestApp;
    const logs = captureLogs();
    beforeAll(async () => {
      t = await startApp({ LOG_LEVEL: 'info' }, { logs });
    });
    afterAll(() => t.close());

    it('writes one line per answer: method, path without its query, status, duration and the request id', async () => {
      const res = await t.request().get('/api/no-such-route?secret=x');
      expect(res.status).toBe(404);
      const [line, ...more] = await accessLines(logs, 1);
      expect(more).toEqual([]);
      expect(line).toMatchObject({ level: 'info', method: 'GET', path: '/api/no-such-route', status: 404, requestId: res.headers['request-id'] });
      expect(line.durationMs).toEqual(expect.any(Number));
      expect(JSON.stringify(line)).not.toContain('secret');
    });

    it('logs the answer to a URL refused before the app’s hooks run, with its request id', async () => {
      const before = (await accessLines(logs, 0)).length;
      const res = await t.request().get('/api/orgs/%E0%A4%A');
      expect(res.status).toBe(400);
      expect((await accessLines(logs, before + 1)).slice(before)).toEqual([expect.objectContaining({ status: 400, path: '/api/orgs/%E0%A4%A', requestId: res.headers['request-id'] })]);
    });

    it('logs a line with the request id of the answer to bytes that never became a request', async () => {
      const answer = await exchangeRaw(t, 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n');
      const requestId = /^request-id: (req_\w+)\r?$/im.exec(answer)?.[1];
      expect(requestId).toMatch(/^req_/);
      expect(logs.lines.filter((l) => l.requestId === requestId)).toEqual([
        expect.objectContaining({ level: 'info', msg: 'refused a request that is not valid HTTP/1.1', status: 400, error: 'HPE_INVALID_HEADER_TOKEN' }),
      ]);
    });
  });

  describe('at level warn', () => {
    let t: TestApp;
    const logs = captureLogs();
    const redis = Relay.to(testConfig().redis.url, 6379);
    beforeAll(async () => {
      await redis.up();
      t = await startApp({ LOG_LEVEL: 'warn', REDIS_URL: via(testConfig().redis.url, redis.port), PROCESS_ROLE: 'api' }, { logs });
    });
    afterEach(() => redis.up());
    afterAll(async () => {
      await t.close();
      await redis.down();
    });

    it('writes no line for a success, and an error line for a 5xx answer', async () => {
      expect((await t.request().get('/health')).status).toBe(200);
      await redis.down();
      const res = await t.request().get('/ready');
      expect(res.status).toBe(503);
      const lines = await accessLines(logs, 1);
      expect(lines).toEqual([expect.objectContaining({ level: 'error', method: 'GET', path: '/ready', status: 503, requestId: res.headers['request-id'] })]);
    });

    it('gives what is logged while serving a request with a JSON body that request’s id (a failed rate-limit check)', async () => {
      const org = await createOrg(t);
      const agent = await createAgent(t, org);
      const { key } = await createApiKey(t, org);
      await redis.down();
      const res = await t.request().post(`${agent.path}/run`).set('Authorization', `Bearer ${key}`).send({ input: {} });
      expect(res.status).toBe(503);
      expect(logs.lines).toContainEqual(expect.objectContaining({ msg: 'rate limit check failed', requestId: res.headers['request-id'] }));
    });
  });
});
