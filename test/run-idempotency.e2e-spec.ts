import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestFingerprint } from '../src/idempotency/fingerprint.js';
import { IdempotencyStore } from '../src/idempotency/idempotency.store.js';
import type { IdempotencyScope } from '../src/idempotency/idempotency.types.js';
import { RUNS_QUEUE } from '../src/runs/runs-queue.js';
import { startApp, type TestApp } from './support/app.js';
import { createAgent, type TestAgent } from './support/agents.js';
import { createApiKey, createOrg, expectProblem, type TestOrg } from './support/factories.js';
import { Relay, via } from './support/relay.js';
import { testConfig } from './support/test-env.js';

const NEW = '2026-06-11';
const OLD = '2026-03-21';
const MANIFEST = {
  input: {
    schema: {
      type: 'object',
      properties: { ticket: { type: 'string' }, priority: { type: 'integer' }, doc: { type: 'string', format: 'uri', contentMediaType: 'text/plain' } },
    },
  },
};

/** An org with a default model (never called: no worker here), an agent, and an API key. */
interface Fixture {
  org: TestOrg;
  agent: TestAgent;
  key: string;
  keyId: string;
  headers: Record<string, string>;
}

async function fixture(t: TestApp): Promise<Fixture> {
  const org = await createOrg(t);
  const model = await org.owner.agent
    .post('/api/models')
    .set('X-Org-Id', org.id)
    .send({ name: 'default', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-unused', model: 'unused-model', isDefault: true });
  expect(model.status, JSON.stringify(model.body)).toBe(201);
  const agent = await createAgent(t, org, { manifest: MANIFEST });
  const { id, key } = await createApiKey(t, org);
  return { org, agent, key, keyId: id, headers: { Authorization: `Bearer ${key}` } };
}

function helpers(t: () => TestApp, queue: () => Queue) {
  const countRuns = async (orgId: string): Promise<number> =>
    (await t().db.query(`SELECT count(*)::int AS n FROM runs WHERE org_id = $1`, [orgId]))[0].n;
  const countFiles = async (orgId: string): Promise<number> =>
    (await t().db.query(`SELECT count(*)::int AS n FROM run_files WHERE org_id = $1`, [orgId]))[0].n;
  const countJobs = async (orgId: string): Promise<number> =>
    (await queue().getJobs(['waiting', 'delayed', 'prioritized', 'active'])).filter((job) => job?.data.orgId === orgId).length;
  const run = (f: Fixture, key: string | null, body: unknown = {}, version = NEW, path = `${f.agent.path}/run`) => {
    const req = t().request().post(path).set(f.headers).set('Appstrate-Version', version);
    if (key !== null) req.set('Idempotency-Key', key);
    return req.send(body as object);
  };
  return { countRuns, countFiles, countJobs, run };
}

/**
 * Holds the key's durable-record row in an open transaction, so that a request with that key
 * blocks when its run transaction writes the record (while still holding its Redis claim).
 * Rolled back by `release`, after which the blocked request goes on.
 */
async function holdRecordRow(t: TestApp, scope: IdempotencyScope): Promise<{ release: () => Promise<void> }> {
  const holder = t.db.createQueryRunner();
  await holder.connect();
  await holder.startTransaction();
  await holder.query(
    `INSERT INTO idempotency_records (org_id, caller, key, fingerprint, status, body, headers, expires_at)
     VALUES ($1, $2, $3, 'held-by-test', 0, 'null', '{}', now() + interval '1 hour')`,
    [scope.orgId, scope.caller, scope.key],
  );
  return {
    release: async () => {
      await holder.rollbackTransaction();
      await holder.release();
    },
  };
}

/** The scope and fingerprint the run route gives `key` on a JSON run request of `f` (to seed Redis as a request would). */
function keyOf(f: Fixture, key: string, body: unknown): { scope: IdempotencyScope; fingerprint: string } {
  const fingerprint = requestFingerprint({ method: 'POST', url: `${f.agent.path}/run`, headers: {}, body } as never);
  return { scope: { orgId: f.org.id, caller: `key:${f.keyId}`, key }, fingerprint };
}

/** Waits until `predicate` holds (generous deadline for a busy machine). */
async function until(predicate: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The replay is the first answer again: status, body, Location; plus the replay marker and fresh per-request headers. */
function expectReplay(replay: supertest.Response, first: supertest.Response): void {
  expect(replay.status, JSON.stringify(replay.body)).toBe(first.status);
  expect(replay.body).toEqual(first.body);
  expect(replay.text).toBe(first.text);
  expect(replay.headers.location).toBe(first.headers.location);
  expect(replay.headers['idempotent-replayed']).toBe('true');
  expect(first.headers['idempotent-replayed']).toBeUndefined();
  expect(replay.headers['request-id']).toMatch(/^req_/);
  expect(replay.headers['request-id']).not.toBe(first.headers['request-id']);
  expect(replay.headers.ratelimit).toMatch(/^"run";r=\d+;t=\d+$/);
}

describe('run route idempotency', () => {
  let t: TestApp;
  let queue: Queue;
  let h: ReturnType<typeof helpers>;

  beforeAll(async () => {
    t = await startApp({ RUN_RATE_LIMIT_PER_MINUTE: '100000', ORG_MAX_CONCURRENT_RUNS: '100000', PROCESS_ROLE: 'api' });
    queue = t.app.get<Queue>(getQueueToken(RUNS_QUEUE));
    h = helpers(() => t, () => queue);
  });
  afterAll(() => t.close());

  it.each([
    ['empty', ''],
    ['longer than 255 characters', 'k'.repeat(256)],
    ['a space', 'two words'],
    ['a tab', 'a\tb'],
    ['a non-ASCII character', 'cl\u00e9'],
  ])('refuses an Idempotency-Key that is %s (step 5, before the agent lookup)', async (_, value) => {
    const f = await fixture(t);
    const res = await t
      .request()
      .post(`/api/agents/${f.agent.scope}/no-such-agent/run`)
      .set(f.headers)
      .set('Idempotency-Key', value)
      .send({});
    expect(expectProblem(res, 400, 'invalid_idempotency_key').param).toBe('Idempotency-Key');
    expect(res.headers['ratelimit-policy']).toBeDefined();
    expect(res.headers['appstrate-version']).toBe(OLD);
    expect(await h.countRuns(f.org.id)).toBe(0);
  });

  it('accepts a 255-character key of visible ASCII', async () => {
    const f = await fixture(t);
    const key = '!'.repeat(100) + '~'.repeat(100) + 'k'.repeat(55);
    expect((await h.run(f, key)).status).toBe(201);
  });

  it('replays a JSON run request: same status, body and Location, no second run or job', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const first = await h.run(f, key, { input: { ticket: 'Printer on fire' }, metadata: { source: 'test' } });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.headers.location).toBe(`/api/runs/${first.body.id}`);
    const replay = await h.run(f, key, { input: { ticket: 'Printer on fire' }, metadata: { source: 'test' } });
    expectReplay(replay, first);
    expect(replay.headers['appstrate-version']).toBe(NEW);
    expect(await h.countRuns(f.org.id)).toBe(1);
    expect(await h.countJobs(f.org.id)).toBe(1);
  });

  it('replays the 2026-03-21 answer (200 {runId}) as it was', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const first = await h.run(f, key, { input: { ticket: 'x' } }, OLD);
    expect(first.status).toBe(200);
    expect(Object.keys(first.body)).toEqual(['runId']);
    expectReplay(await h.run(f, key, { input: { ticket: 'x' } }, OLD), first);
    expect(await h.countRuns(f.org.id)).toBe(1);
  });

  it('ignores JSON key order and whitespace in the fingerprint', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const send = (text: string) =>
      t.request().post(`${f.agent.path}/run`).set(f.headers).set('Appstrate-Version', NEW).set('Idempotency-Key', key).set('Content-Type', 'application/json').send(text);
    const first = await send('{"input":{"ticket":"a","priority":1},"metadata":{"k":"v"}}');
    expect(first.status, first.text).toBe(201);
    const replay = await send('{\n  "metadata": { "k": "v" },\n  "input": { "priority": 1, "ticket": "a" }\n}');
    expectReplay(replay, first);
    expect(await h.countRuns(f.org.id)).toBe(1);
  });

  it('replays under another Appstrate-Version: the stored answer, with this request\u2019s version header', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const first = await h.run(f, key, {}, NEW);
    expect(first.status).toBe(201);
    const replay = await h.run(f, key, {}, OLD);
    expectReplay(replay, first);
    expect(replay.headers['appstrate-version']).toBe(OLD);
    expect(await h.countRuns(f.org.id)).toBe(1);
  });

  it('answers 422 idempotency_conflict for another body, path, query or Appstrate-User on the same key', async () => {
    const f = await fixture(t);
    const other = await createAgent(t, f.org, { manifest: MANIFEST });
    const endUser = await t.request().post('/api/end-users').set(f.headers).send({ name: 'Eve' });
    expect(endUser.status, JSON.stringify(endUser.body)).toBe(201);
    const key = randomUUID();
    expect((await h.run(f, key, { input: { ticket: 'a' } })).status).toBe(201);

    const changedBody = await h.run(f, key, { input: { ticket: 'b' } });
    expect(expectProblem(changedBody, 422, 'idempotency_conflict').param).toBe('Idempotency-Key');
    expectProblem(await h.run(f, key, { input: { ticket: 'a' } }, NEW, `${other.path}/run`), 422, 'idempotency_conflict');
    expectProblem(await h.run(f, key, { input: { ticket: 'a' } }, NEW, `${f.agent.path}/run?version=`), 422, 'idempotency_conflict');
    const asEndUser = await t
      .request()
      .post(`${f.agent.path}/run`)
      .set(f.headers)
      .set('Appstrate-User', endUser.body.id)
      .set('Idempotency-Key', key)
      .send({ input: { ticket: 'a' } });
    expectProblem(asEndUser, 422, 'idempotency_conflict');
    expect(await h.countRuns(f.org.id)).toBe(1);
  });

  it('treats %40 in the path as @ (same fingerprint)', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const first = await h.run(f, key, {});
    const encoded = await h.run(f, key, {}, NEW, `${f.agent.path.replace('/@', '/%40')}/run`);
    expectReplay(encoded, first);
    expect(await h.countRuns(f.org.id)).toBe(1);
  });

  it('scopes keys to the caller: another API key or the session user may reuse the same key', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const first = await h.run(f, key, {});
    const second = await createApiKey(t, f.org);
    const byOtherKey = await t.request().post(`${f.agent.path}/run`).set('Authorization', `Bearer ${second.key}`).set('Appstrate-Version', NEW).set('Idempotency-Key', key).send({});
    const bySession = await f.org.owner.agent.post(`${f.agent.path}/run`).set('X-Org-Id', f.org.id).set('Appstrate-Version', NEW).set('Idempotency-Key', key).send({});
    for (const res of [byOtherKey, bySession]) {
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
      expect(res.body.id).not.toBe(first.body.id);
    }
    expect(await h.countRuns(f.org.id)).toBe(3);
  });

  it('replays a multipart request (fields and files digested); another file is a conflict', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const send = (content: string) =>
      t
        .request()
        .post(`${f.agent.path}/run`)
        .set(f.headers)
        .set('Appstrate-Version', NEW)
        .set('Idempotency-Key', key)
        .field('input', JSON.stringify({ ticket: 'with file' }))
        .field('metadata', JSON.stringify({ via: 'multipart' }))
        .attach('doc', Buffer.from(content), { filename: 'notes.txt', contentType: 'text/plain' });
    const first = await send('hello file');
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.files).toHaveLength(1);
    expectReplay(await send('hello file'), first);
    expectProblem(await send('hello other file'), 422, 'idempotency_conflict');
    expect(await h.countRuns(f.org.id)).toBe(1);
    expect(await h.countFiles(f.org.id)).toBe(1);
    expect(await h.countJobs(f.org.id)).toBe(1);
  });

  it('replays refusals too: a 404 agent_not_found stays a 404 for that key, even once the agent exists', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const path = `/api/agents/${f.agent.scope}/later-agent/run`;
    const first = await h.run(f, key, {}, NEW, path);
    expectProblem(first, 404, 'agent_not_found');
    await createAgent(t, f.org, { scope: f.agent.scope, name: 'later-agent', manifest: MANIFEST });
    const replay = await h.run(f, key, {}, NEW, path);
    expectReplay(replay, first);
    expect(replay.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(replay.body.requestId).toBe(first.headers['request-id']); // the stored body, as first sent
    expect(await h.countRuns(f.org.id)).toBe(0);
    // A corrected request needs a new key.
    expect((await h.run(f, randomUUID(), {}, NEW, path)).status).toBe(201);
  });

  it('fingerprints a body that does not parse by its bytes', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const send = (text: string) =>
      t.request().post(`${f.agent.path}/run`).set(f.headers).set('Idempotency-Key', key).set('Content-Type', 'application/json').send(text);
    const first = await send('{"input": ');
    expectProblem(first, 400, 'invalid_request');
    expectReplay(await send('{"input": '), first);
    expectProblem(await send('{"input":  '), 422, 'idempotency_conflict');
  });

  it('fingerprints a body of another type by its bytes: it never matches no body', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const post = (k: string) => t.request().post(`${f.agent.path}/run`).set(f.headers).set('Appstrate-Version', NEW).set('Idempotency-Key', k);
    const text = (k: string, body: string) => post(k).set('Content-Type', 'text/plain').send(body);
    const bodiless = await post(key);
    expect(bodiless.status, JSON.stringify(bodiless.body)).toBe(201);
    expectProblem(await text(key, 'ticket=1'), 422, 'idempotency_conflict');
    // Nor does a multipart type the route does not take (only multipart/form-data is parsed).
    const mixed = await post(key).set('Content-Type', 'multipart/mixed; boundary=x').send('--x\r\n\r\nhello\r\n--x--\r\n');
    expectProblem(mixed, 422, 'idempotency_conflict');
    // With a key of its own, the text body is refused in its turn (415), and that refusal is replayed.
    const other = randomUUID();
    const refused = await text(other, 'ticket=1');
    expectProblem(refused, 415, 'unsupported_media_type');
    expectReplay(await text(other, 'ticket=1'), refused);
    expectProblem(await text(other, 'ticket=2'), 422, 'idempotency_conflict');
    expect(await h.countRuns(f.org.id)).toBe(1);
  });

  it('creates exactly one run for 25 concurrent identical requests', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 25 }, () => h.run(f, key, { input: { ticket: 'race' } })));
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409), statuses.join(',')).toBe(true);
    const created = answers.filter((r) => r.status === 201);
    expect(created.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    for (const busy of answers.filter((r) => r.status === 409)) {
      expect(expectProblem(busy, 409, 'idempotency_in_progress').retryAfter).toBe(1);
      expect(busy.headers['retry-after']).toBe('1');
    }
    expect(await h.countRuns(f.org.id)).toBe(1);
    expect(await h.countJobs(f.org.id)).toBe(1);
    const later = await h.run(f, key, { input: { ticket: 'race' } });
    expect(later.status).toBe(201);
    expect(later.body.id).toBe(created[0].body.id);
  });

  it('answers 409 idempotency_in_progress while the first request runs, 422 if the request differs', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const body = { input: { ticket: 'slow' } };
    const scope: IdempotencyScope = { orgId: f.org.id, caller: `key:${f.keyId}`, key };
    const hold = await holdRecordRow(t, scope);
    let first: Promise<supertest.Response>;
    try {
      first = h.run(f, key, body).then((r) => r);
      await until(async () => (await t.redis.exists(IdempotencyStore.redisKey(scope))) === 1);
      const busy = await h.run(f, key, body);
      const problem = expectProblem(busy, 409, 'idempotency_in_progress');
      expect(problem.param).toBe('Idempotency-Key');
      expect(problem.retryAfter).toBe(1);
      expect(busy.headers['retry-after']).toBe('1');
      expect(busy.headers.ratelimit).toBeDefined();
      expectProblem(await h.run(f, key, { input: { ticket: 'different' } }), 422, 'idempotency_conflict');
    } finally {
      await hold.release();
    }
    const done = await first!;
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    expect(done.headers['idempotent-replayed']).toBeUndefined();
    expectReplay(await h.run(f, key, body), done);
    expect(await h.countRuns(f.org.id)).toBe(1);
    expect(await h.countJobs(f.org.id)).toBe(1);
  });

  it('replays without creating a run after Redis lost every key (FLUSHDB): the record is in PostgreSQL', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const refusedKey = randomUUID();
    const first = await h.run(f, key, { input: { ticket: 'durable' } });
    expect(first.status).toBe(201);
    const refused = await h.run(f, refusedKey, {}, NEW, `/api/agents/${f.agent.scope}/ghost/run`);
    expectProblem(refused, 404, 'agent_not_found');
    await createAgent(t, f.org, { scope: f.agent.scope, name: 'ghost', manifest: MANIFEST });

    await t.redis.flushdb();
    expect(await h.countJobs(f.org.id)).toBe(0); // the flush took the queued job too

    const replay = await h.run(f, key, { input: { ticket: 'durable' } });
    expectReplay(replay, first);
    expectReplay(await h.run(f, refusedKey, {}, NEW, `/api/agents/${f.agent.scope}/ghost/run`), refused);
    expect(await h.countRuns(f.org.id)).toBe(1);
    expect(await h.countJobs(f.org.id)).toBe(0);

    await t.redis.flushdb();
    expectProblem(await h.run(f, key, { input: { ticket: 'changed' } }), 422, 'idempotency_conflict');
    expect(await h.countRuns(f.org.id)).toBe(1);
  });

  it('keeps the durable record of a run that exists (a failed request cannot discard it)', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const first = await h.run(f, key, {});
    const scope: IdempotencyScope = { orgId: f.org.id, caller: `key:${f.keyId}`, key };
    await t.app.get(IdempotencyStore).discardRecord(scope, first.body.id);
    expect(await t.app.get(IdempotencyStore).findRecord(scope)).toMatchObject({ runId: first.body.id, response: { status: 201 } });
  });
});

describe('run route idempotency: lock timeout and released keys', () => {
  let t: TestApp;
  let queue: Queue;
  let h: ReturnType<typeof helpers>;

  beforeAll(async () => {
    t = await startApp({
      IDEMPOTENCY_LOCK_TIMEOUT_SECONDS: '1',
      ORG_MAX_CONCURRENT_RUNS: '2',
      RUN_RATE_LIMIT_PER_MINUTE: '100000',
      PROCESS_ROLE: 'api',
    });
    queue = t.app.get<Queue>(getQueueToken(RUNS_QUEUE));
    h = helpers(() => t, () => queue);
  });
  afterAll(() => t.close());

  it('frees the key of a request that never finished after IDEMPOTENCY_LOCK_TIMEOUT_SECONDS', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    // A claim exactly as a request that crashed mid-way leaves it (same fingerprint, lock = 1 s).
    const { scope, fingerprint } = keyOf(f, key, { input: { ticket: 'x' } });
    await t.app.get(IdempotencyStore).claim(scope, IdempotencyStore.claimValue('req_crashed', fingerprint), t.config.runs.idempotencyLockTimeoutSeconds * 1000);

    expectProblem(await h.run(f, key, { input: { ticket: 'x' } }), 409, 'idempotency_in_progress');
    const deadline = Date.now() + 10_000;
    let retry = await h.run(f, key, { input: { ticket: 'x' } });
    while (retry.status === 409 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      retry = await h.run(f, key, { input: { ticket: 'x' } });
    }
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(await h.countRuns(f.org.id)).toBe(1);
    const replay = await h.run(f, key, { input: { ticket: 'x' } });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(retry.body);
  });

  /** Leaves the key as a finished request would in Redis (its "done" marker), whatever PostgreSQL holds. */
  const markDone = async (f: Fixture, key: string, body: unknown) => {
    const seeded = keyOf(f, key, body);
    await t.redis.set(IdempotencyStore.redisKey(seeded.scope), IdempotencyStore.doneValue(seeded.fingerprint), 'PX', 60_000);
    return seeded;
  };

  /** Seeds a key's state as Redis and PostgreSQL would hold it, then a retry must get `status`. */
  type HeldKey = (f: Fixture, key: string, body: unknown) => Promise<void>;
  it.each<[string, HeldKey, number, string]>([
    [
      '409 while the first request still runs, even once its record is committed (its run may yet be withdrawn)',
      async (f, key, body) => {
        const { scope, fingerprint } = keyOf(f, key, body);
        const store = t.app.get(IdempotencyStore);
        await store.claim(scope, IdempotencyStore.claimValue('req_first', fingerprint), 60_000);
        await store.saveRecord(scope, fingerprint, { status: 201, body: { id: 'run_x' }, headers: {} }, null);
      },
      409,
      'idempotency_in_progress',
    ],
    [
      '422 when the record of a done key holds another request (Redis had lost the key in between)',
      async (f, key, body) => {
        const { scope } = await markDone(f, key, body);
        await t.app.get(IdempotencyStore).saveRecord(scope, keyOf(f, key, { input: { ticket: 'other' } }).fingerprint, { status: 201, body: {}, headers: {} }, null);
      },
      422,
      'idempotency_conflict',
    ],
  ])('answers %s', async (_label, seed, status, code) => {
    const f = await fixture(t);
    const key = randomUUID();
    const body = { input: { ticket: 'window' } };
    await seed(f, key, body);
    expectProblem(await h.run(f, key, body), status, code);
    expect(await h.countRuns(f.org.id)).toBe(0);
  });

  it('frees a key whose done marker outlived its record (purged after 24 h)', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const body = { input: { ticket: 'purged' } };
    const { scope, fingerprint } = await markDone(f, key, body);

    const res = await h.run(f, key, body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect(await h.countRuns(f.org.id)).toBe(1);
    expect(await t.redis.get(IdempotencyStore.redisKey(scope))).toBe(IdempotencyStore.doneValue(fingerprint));
    expect((await h.run(f, key, body)).headers['idempotent-replayed']).toBe('true');
  });

  it('still creates one run when a slow request outlives its claim: the later one waits on the record, then replays', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const body = { input: { ticket: 'slow' } };
    const scope: IdempotencyScope = { orgId: f.org.id, caller: `key:${f.keyId}`, key };
    const redisKey = IdempotencyStore.redisKey(scope);
    const hold = await holdRecordRow(t, scope);
    let first: Promise<supertest.Response>;
    let second: Promise<supertest.Response>;
    try {
      first = h.run(f, key, body).then((r) => r);
      await until(async () => (await t.redis.exists(redisKey)) === 1);
      // Past the 1 s lock the claim is gone, although the first request is still inside.
      await until(async () => (await t.redis.exists(redisKey)) === 0);
      second = h.run(f, key, body).then((r) => r);
      await until(async () => (await t.redis.exists(redisKey)) === 1); // the second claimed the key afresh
      await new Promise((r) => setTimeout(r, 200)); // and is on its way to the record
    } finally {
      await hold.release();
    }
    const [a, b] = await Promise.all([first!, second!]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body).toEqual(a.body);
    // Whichever committed first created the run; the other found its record and replayed it.
    expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']].sort()).toEqual(['true', undefined]);
    expect(await h.countRuns(f.org.id)).toBe(1);
    expect(await h.countJobs(f.org.id)).toBe(1);
  });

  it('releases the key on a 429 (org concurrency cap) so that a retry can proceed', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const fill = [await h.run(f, null), await h.run(f, null)];
    expect(fill.map((r) => r.status)).toEqual([201, 201]);
    const capped = await h.run(f, key, { input: { ticket: 'later' } });
    expect(expectProblem(capped, 429, 'org_run_concurrency_exceeded').retryAfter).toBeGreaterThanOrEqual(1);
    expect(await h.countRuns(f.org.id)).toBe(2);

    const cancel = await t.request().post(`/api/runs/${fill[0].body.id}/cancel`).set(f.headers);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    const retry = await h.run(f, key, { input: { ticket: 'later' } });
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(await h.countRuns(f.org.id)).toBe(3);
  });
});

describe('run route idempotency when the queue fails (5xx)', () => {
  let t: TestApp;
  let queue: Queue;
  let h: ReturnType<typeof helpers>;

  beforeAll(async () => {
    t = await startApp({ RUN_RATE_LIMIT_PER_MINUTE: '100000', PROCESS_ROLE: 'api' });
    queue = t.app.get<Queue>(getQueueToken(RUNS_QUEUE));
    h = helpers(() => t, () => queue);
  });
  afterAll(() => t.close());

  it('releases the key and drops the durable record of the withdrawn run, so a retry creates the run', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const scope: IdempotencyScope = { orgId: f.org.id, caller: `key:${f.keyId}`, key };
    const client = (await queue.getBackend().client) as unknown as { disconnect(): void; connect(): Promise<void> };
    client.disconnect(); // the queue's own connection: queue.add fails, the command connection still works
    let failed: supertest.Response;
    try {
      failed = await h.run(f, key, { input: { ticket: 'x' } });
    } finally {
      await client.connect();
    }
    expectProblem(failed, 503, 'service_unavailable');
    expect(await h.countRuns(f.org.id)).toBe(0);
    expect(await t.redis.exists(IdempotencyStore.redisKey(scope))).toBe(0);
    expect(await t.app.get(IdempotencyStore).findRecord(scope)).toBeNull();

    const retry = await h.run(f, key, { input: { ticket: 'x' } });
    expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(await h.countRuns(f.org.id)).toBe(1);
    expect(await h.countJobs(f.org.id)).toBe(1);
  });
});

describe('run route idempotency while PostgreSQL is unreachable (a relay in front of it, cut)', () => {
  let t: TestApp;
  let h: ReturnType<typeof helpers>;
  const pg = Relay.to(testConfig().database.url, 5432);

  beforeAll(async () => {
    await pg.up();
    t = await startApp({ RUN_RATE_LIMIT_PER_MINUTE: '100000', PROCESS_ROLE: 'api', DATABASE_URL: via(testConfig().database.url, pg.port) });
    h = helpers(() => t, () => t.app.get<Queue>(getQueueToken(RUNS_QUEUE)));
  });
  afterAll(async () => {
    await pg.up().catch(() => undefined);
    await t?.close();
    await pg.down();
  });

  it('answers 503 for a retry of a finished key whose record cannot be read, and keeps the key', async () => {
    const f = await fixture(t);
    const key = randomUUID();
    const body = { input: { ticket: 'x' } };
    const first = await h.run(f, key, body); // also leaves the API key in the credential cache
    expect(first.status).toBe(201);
    await pg.down();
    try {
      const retry = await h.run(f, key, body);
      expect(expectProblem(retry, 503, 'service_unavailable').detail).toMatch(/^Idempotency is temporarily unavailable/);
    } finally {
      await pg.up();
    }
    const later = await h.run(f, key, body);
    expect([later.status, later.headers['idempotent-replayed'], later.body]).toEqual([201, 'true', first.body]);
  });
});
