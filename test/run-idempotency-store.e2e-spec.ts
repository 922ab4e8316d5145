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

  it('claims a key once and keeps the claim for 24 h; a second claim sees it', async () => {
    const s = scope();
    const a = IdempotencyStore.claimValue('req_a', 'fp1', 1_000);
    expect(await store.claim(s, a)).toBeNull();
    expect(await store.claim(s, IdempotencyStore.claimValue('req_b', 'fp2'))).toEqual({ token: 'req_a', fingerprint: 'fp1', claimedAt: 1_000, value: a });
    expect(await t.redis.pttl(IdempotencyStore.redisKey(s))).toBeGreaterThan(23 * 3600 * 1000);
    // Only the claim: no response body is ever kept in Redis.
    expect(await t.redis.get(IdempotencyStore.redisKey(s))).toBe(a);
  });

  it('lets only the owner release its claim, and a claim be taken over only as it was seen', async () => {
    const s = scope();
    const a = IdempotencyStore.claimValue('req_a', 'fp');
    await store.claim(s, a);
    await store.release(s, IdempotencyStore.claimValue('req_other', 'fp'));
    const held = await store.claim(s, IdempotencyStore.claimValue('req_c', 'fp'));
    expect(held).toMatchObject({ token: 'req_a' });

    // Two successors of a crashed claim: only the first replaces it.
    const d = IdempotencyStore.claimValue('req_d', 'fp');
    expect(await store.takeOver(s, held!, d)).toBe(true);
    expect(await store.takeOver(s, held!, IdempotencyStore.claimValue('req_e', 'fp'))).toBe(false);
    expect(await t.redis.get(IdempotencyStore.redisKey(s))).toBe(d);
    expect(await t.redis.pttl(IdempotencyStore.redisKey(s))).toBeGreaterThan(23 * 3600 * 1000);

    await store.release(s, a); // the crashed owner's late release changes nothing
    expect(await t.redis.get(IdempotencyStore.redisKey(s))).toBe(d);
    await store.release(s, d);
    expect(await store.claim(s, IdempotencyStore.claimValue('req_f', 'fp'))).toBeNull();
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
