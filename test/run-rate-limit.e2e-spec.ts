import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNS_QUEUE } from '../src/runs/runs-queue.js';
import { startApp, type TestApp } from './support/app.js';
import { createAgent, type TestAgent } from './support/agents.js';
import { createApiKey, createOrg, expectProblem, type TestOrg } from './support/factories.js';

const LIMIT = 20;
const MANIFEST = { input: { schema: { type: 'object', properties: { ticket: { type: 'string' } } } } };

/** An org with a default model (never called: no worker in these tests) and one agent. */
async function runnableOrg(t: TestApp): Promise<{ org: TestOrg; agent: TestAgent }> {
  const org = await createOrg(t);
  const model = await org.owner.agent
    .post('/api/models')
    .set('X-Org-Id', org.id)
    .send({ name: 'default', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-unused', model: 'unused-model', isDefault: true });
  expect(model.status, JSON.stringify(model.body)).toBe(201);
  return { org, agent: await createAgent(t, org, { manifest: MANIFEST }) };
}

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** `RateLimit: "run";r=<remaining>;t=<seconds>` → its numbers. */
function rateLimitOf(res: supertest.Response): { remaining: number; reset: number } {
  expect(res.headers['ratelimit-policy']).toBe(`"run";q=${LIMIT};w=60`);
  const m = /^"run";r=(\d+);t=(\d+)$/.exec(String(res.headers.ratelimit));
  expect(m, `RateLimit: ${res.headers.ratelimit}`).not.toBeNull();
  return { remaining: Number(m![1]), reset: Number(m![2]) };
}

describe('run route rate limit (per caller, Redis-backed)', () => {
  let t: TestApp;
  let queue: Queue;

  beforeAll(async () => {
    // No worker: runs stay pending and their jobs stay countable in the queue.
    t = await startApp({ RUN_RATE_LIMIT_PER_MINUTE: String(LIMIT), ORG_MAX_CONCURRENT_RUNS: '100000', PROCESS_ROLE: 'api' });
    queue = t.app.get<Queue>(getQueueToken(RUNS_QUEUE));
  });
  afterAll(() => t.close());

  const countRuns = async (orgId: string): Promise<number> =>
    (await t.db.query(`SELECT count(*)::int AS n FROM runs WHERE org_id = $1`, [orgId]))[0].n;
  const countJobs = async (orgId: string): Promise<number> =>
    (await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active'])).filter((job) => job?.data.orgId === orgId).length;

  it('allows 20 requests a minute per API key with the draft headers, then answers 429 rate_limited', async () => {
    const { org, agent } = await runnableOrg(t);
    const { key } = await createApiKey(t, org);
    for (let i = 1; i <= LIMIT; i++) {
      const res = await t.request().post(`${agent.path}/run`).set(bearer(key)).send({ input: { ticket: `t${i}` } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const { remaining, reset } = rateLimitOf(res);
      expect(remaining).toBe(LIMIT - i);
      expect(reset).toBeGreaterThanOrEqual(1);
      expect(reset).toBeLessThanOrEqual(60);
    }
    const refused = await t.request().post(`${agent.path}/run`).set(bearer(key)).send({ input: { ticket: 'one too many' } });
    const body = expectProblem(refused, 429, 'rate_limited');
    expect(body.detail).toBe('Too many requests. Please try again shortly.');
    expect(Number.isInteger(body.retryAfter)).toBe(true);
    expect(body.retryAfter as number).toBeGreaterThanOrEqual(1);
    expect(body.retryAfter as number).toBeLessThanOrEqual(60);
    expect(refused.headers['retry-after']).toBe(String(body.retryAfter));
    expect(rateLimitOf(refused).remaining).toBe(0);
    expect(refused.headers['appstrate-version']).toBe('2026-03-21');
    // The refusal left nothing behind.
    expect(await countRuns(org.id)).toBe(LIMIT);
    expect(await countJobs(org.id)).toBe(LIMIT);
  });

  it('gives each API key and each session user a budget of its own', async () => {
    const { org, agent } = await runnableOrg(t);
    const a = await createApiKey(t, org);
    const b = await createApiKey(t, org);
    for (let i = 0; i < LIMIT; i++) {
      expect((await t.request().post(`${agent.path}/run`).set(bearer(a.key)).send({})).status).toBe(200);
    }
    expectProblem(await t.request().post(`${agent.path}/run`).set(bearer(a.key)).send({}), 429, 'rate_limited');

    const other = await t.request().post(`${agent.path}/run`).set(bearer(b.key)).send({});
    expect(other.status).toBe(200);
    expect(rateLimitOf(other).remaining).toBe(LIMIT - 1);

    // Both keys were minted by the owner; the owner's session still counts as a caller of its own.
    const session = await org.owner.agent.post(`${agent.path}/run`).set('X-Org-Id', org.id).send({});
    expect(session.status, JSON.stringify(session.body)).toBe(200);
    expect(rateLimitOf(session).remaining).toBe(LIMIT - 1);
  });

  it('counts and labels later refusals too, but not refusals before the rate-limit step', async () => {
    const { org, agent } = await runnableOrg(t);
    const { key } = await createApiKey(t, org);

    // Steps 1–3 answer before the limit is counted: no headers, no hit.
    const unauthorized = await t.request().post(`${agent.path}/run`).set(bearer(`ask_${'0'.repeat(48)}`)).send({});
    expectProblem(unauthorized, 401, 'unauthorized');
    expect(unauthorized.headers.ratelimit).toBeUndefined();
    const badVersion = await t.request().post(`${agent.path}/run`).set(bearer(key)).set('Appstrate-Version', '2026-13-01').send({});
    expectProblem(badVersion, 400, 'invalid_api_version');
    expect(badVersion.headers.ratelimit).toBeUndefined();
    const badPath = await t.request().post('/api/agents/acme/x/run').set(bearer(key)).send({});
    expect(expectProblem(badPath, 400, 'invalid_request').param).toBe('scope');
    expect(badPath.headers.ratelimit).toBeUndefined();

    // From step 4 on every answer carries them: an invalid Idempotency-Key, a missing agent, a bad body.
    const badKey = await t.request().post(`${agent.path}/run`).set(bearer(key)).set('Idempotency-Key', '').send({});
    expectProblem(badKey, 400, 'invalid_idempotency_key');
    expect(rateLimitOf(badKey).remaining).toBe(LIMIT - 1);
    const missing = await t.request().post(`/api/agents/${agent.scope}/nope/run`).set(bearer(key)).send({});
    expectProblem(missing, 404, 'agent_not_found');
    expect(rateLimitOf(missing).remaining).toBe(LIMIT - 2);
    const invalid = await t.request().post(`${agent.path}/run`).set(bearer(key)).send({ surprise: 1 });
    expectProblem(invalid, 400, 'validation_failed');
    expect(rateLimitOf(invalid).remaining).toBe(LIMIT - 3);
    const ok = await t.request().post(`${agent.path}/run`).set(bearer(key)).set('Appstrate-Version', '2026-06-11').send({});
    expect(ok.status).toBe(201);
    expect(rateLimitOf(ok).remaining).toBe(LIMIT - 4);
    expect(await countRuns(org.id)).toBe(1);
  });

  it('shares the count between API processes (two apps on the same Redis)', async () => {
    const { org, agent } = await runnableOrg(t);
    const { key } = await createApiKey(t, org);
    const second = await startApp({ RUN_RATE_LIMIT_PER_MINUTE: String(LIMIT), PROCESS_ROLE: 'api' });
    try {
      const first = await t.request().post(`${agent.path}/run`).set(bearer(key)).send({});
      const other = await second.request().post(`${agent.path}/run`).set(bearer(key)).send({});
      expect(rateLimitOf(first).remaining).toBe(LIMIT - 1);
      expect(rateLimitOf(other).remaining).toBe(LIMIT - 2);
    } finally {
      await second.close();
    }
  });
});

describe('run route rate limit when Redis is unreachable', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ PROCESS_ROLE: 'api' });
  });
  afterAll(() => t.close());

  it('answers 503 service_unavailable, not 500, and creates nothing', async () => {
    const { org, agent } = await runnableOrg(t);
    const { key } = await createApiKey(t, org);
    t.redis.disconnect(); // the command connection rate limits and idempotency use
    const res = await t.request().post(`${agent.path}/run`).set(bearer(key)).set('Idempotency-Key', 'k-1').send({});
    const body = expectProblem(res, 503, 'service_unavailable');
    expect(body.retryAfter).toBe(1);
    const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM runs WHERE org_id = $1`, [org.id]);
    expect(n).toBe(0);
  });
});
