import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyStore } from '../src/idempotency/idempotency.store.js';
import type { IdempotencyScope, StoredResponse } from '../src/idempotency/idempotency.types.js';
import { RateLimiter } from '../src/rate-limit/rate-limiter.js';
import { startApp, type TestApp } from './support/app.js';

/** The Redis and PostgreSQL halves of idempotency and the rate counter, against the real services. */
describe('idempotency store and rate counter', () => {
  let t: TestApp;
  let store: IdempotencyStore;
  const scope = (): IdempotencyScope => ({ orgId: randomUUID(), caller: `key:${randomUUID()}`, key: `k-${randomUUID()}` });
  const response: StoredResponse = { status: 201, body: { z: 1, a: { y: 2, b: 3 } }, headers: { Location: '/api/runs/run_x' } };

  beforeAll(async () => {
    t = await startApp();
    store = t.app.get(IdempotencyStore);
  });
  afterAll(() => t.close());

  it('claims a key once for the lock timeout; a second claim sees the running request', async () => {
    const s = scope();
    const a = IdempotencyStore.claimValue('req_a', 'fp1');
    expect(await store.claim(s, a, 60_000)).toBeNull();
    expect(await store.claim(s, IdempotencyStore.claimValue('req_b', 'fp2'), 60_000)).toEqual({ state: 'running', token: 'req_a', fingerprint: 'fp1', value: a });
    const ttl = await t.redis.pttl(IdempotencyStore.redisKey(s));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('lets only the owner mark its key done (24 h, no response body) or release it', async () => {
    const s = scope();
    const a = IdempotencyStore.claimValue('req_a', 'fp');
    await store.claim(s, a, 60_000);
    await store.complete(s, IdempotencyStore.claimValue('req_other', 'fp'), 'fp');
    await store.release(s, IdempotencyStore.claimValue('req_other', 'fp'));
    expect(await store.claim(s, IdempotencyStore.claimValue('req_c', 'fp'), 60_000)).toMatchObject({ state: 'running', token: 'req_a' });

    await store.complete(s, a, 'fp');
    expect(await t.redis.get(IdempotencyStore.redisKey(s))).toBe(IdempotencyStore.doneValue('fp'));
    expect(await store.claim(s, IdempotencyStore.claimValue('req_d', 'fp'), 60_000)).toMatchObject({ state: 'done', fingerprint: 'fp' });
    expect(await t.redis.pttl(IdempotencyStore.redisKey(s))).toBeGreaterThan(23 * 3600 * 1000);
    // A late release by the owner leaves the marker.
    await store.release(s, a);
    expect(await t.redis.get(IdempotencyStore.redisKey(s))).toBe(IdempotencyStore.doneValue('fp'));
    // Nor does a request that lost its claim (Redis flushed) mark the key.
    const flushed = scope();
    await store.complete(flushed, IdempotencyStore.claimValue('req_e', 'fp'), 'fp');
    expect(await t.redis.exists(IdempotencyStore.redisKey(flushed))).toBe(0);
  });

  it('frees a released key at once and a crashed claim after its lock timeout', async () => {
    const released = scope();
    const a = IdempotencyStore.claimValue('req_a', 'fp');
    await store.claim(released, a, 60_000);
    await store.release(released, a);
    expect(await store.claim(released, IdempotencyStore.claimValue('req_b', 'fp'), 60_000)).toBeNull();

    const crashed = scope();
    await store.claim(crashed, IdempotencyStore.claimValue('req_a', 'fp'), 200);
    const deadline = Date.now() + 5_000;
    let again = await store.claim(crashed, IdempotencyStore.claimValue('req_b', 'fp'), 60_000);
    while (again !== null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      again = await store.claim(crashed, IdempotencyStore.claimValue('req_b', 'fp'), 60_000);
    }
    expect(again).toBeNull();
  });

  it('hands a stale entry to exactly one successor (compare-and-set)', async () => {
    const s = scope();
    await store.claim(s, IdempotencyStore.doneValue('fp'), 60_000);
    const held = await store.claim(s, IdempotencyStore.claimValue('req_x', 'fp'), 60_000);
    const d = IdempotencyStore.claimValue('req_d', 'fp');
    expect(await store.takeOver(s, held!, d, 30_000)).toBe(true);
    expect(await store.takeOver(s, held!, IdempotencyStore.claimValue('req_e', 'fp'), 30_000)).toBe(false);
    expect(await t.redis.get(IdempotencyStore.redisKey(s))).toBe(d);
    expect(await t.redis.pttl(IdempotencyStore.redisKey(s))).toBeLessThanOrEqual(30_000);
  });

  it('keeps the durable record with its body as sent (key order included)', async () => {
    const s = scope();
    expect(await store.saveRecord(s, 'fp', response, null)).toBe(true);
    expect(await store.saveRecord(s, 'fp-other', { ...response, status: 404 }, null)).toBe(false);
    const record = await store.findRecord(s);
    expect(record).toEqual({ fingerprint: 'fp', response, runId: null });
    expect(JSON.stringify(record!.response.body)).toBe('{"z":1,"a":{"y":2,"b":3}}');
  });

  it('replaces a record past its 24 h', async () => {
    const s = scope();
    await store.saveRecord(s, 'old', response, null);
    await t.db.query(`UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE key = $1`, [s.key]);
    expect(await store.findRecord(s)).toBeNull();
    expect(await store.saveRecord(s, 'new', response, null)).toBe(true);
    expect((await store.findRecord(s))?.fingerprint).toBe('new');
  });

  it('serialises two transactions on one key: the second waits, then finds the first record', async () => {
    const s = scope();
    const runner = t.db.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    expect(await store.saveRecord(s, 'first', response, 'run_first', runner.manager)).toBe(true);
    const second = t.db.transaction(async (manager) => {
      const inserted = await store.saveRecord(s, 'second', response, 'run_second', manager);
      return { inserted, record: await store.findRecord(s, manager) };
    });
    let settled = false;
    void second.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false); // blocked on the first transaction's key
    await runner.commitTransaction();
    await runner.release();
    const outcome = await second;
    expect(outcome.inserted).toBe(false);
    expect(outcome.record).toMatchObject({ fingerprint: 'first', runId: 'run_first' });
  });

  it('discards a run-creation record whose run does not exist', async () => {
    const s = scope();
    await store.saveRecord(s, 'fp', response, `run_${randomUUID()}`);
    const record = await store.findRecord(s);
    await store.discardRecord(s, record!.runId!);
    expect(await store.findRecord(s)).toBeNull();
  });

  it('purges records past their 24 h', async () => {
    const s = scope();
    await store.saveRecord(s, 'fp', response, null);
    await t.db.query(`UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE key = $1`, [s.key]);
    expect(await store.purgeExpired()).toBeGreaterThanOrEqual(1);
    const [{ count }] = await t.db.query(`SELECT count(*)::int AS count FROM idempotency_records WHERE key = $1`, [s.key]);
    expect(count).toBe(0);
  });

  it('counts rate-limited hits in a window that resets', async () => {
    const limiter = t.app.get(RateLimiter);
    const policy = { name: `test-${randomUUID()}`, limit: 2, windowSeconds: 1 };
    const first = await limiter.hit(policy, 'key:a');
    expect(first.count).toBe(1);
    expect(first.resetMs).toBeGreaterThan(0);
    expect(first.resetMs).toBeLessThanOrEqual(1000);
    expect((await limiter.hit(policy, 'key:a')).count).toBe(2);
    expect((await limiter.hit(policy, 'key:b')).count).toBe(1);
    const deadline = Date.now() + 5_000;
    let later = await limiter.hit(policy, 'key:a');
    while (later.count !== 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      later = await limiter.hit(policy, 'key:a');
    }
    expect(later.count).toBe(1);
  });
});
