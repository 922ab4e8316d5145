import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import type { DataSource, EntityManager } from 'typeorm';
import { InjectRedis } from '../redis/redis.module.js';
import {
  RETENTION_MS,
  type DurableRecord,
  type HeldEntry,
  type IdempotencyEntry,
  type IdempotencyScope,
  type StoredResponse,
} from './idempotency.types.js';

/**
 * Compare-and-set: only a claim's owner turns it into the "done" marker, and an entry that
 * outlived its record goes to exactly one successor.
 */
const COMPARE_AND_SET_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/** Compare-and-delete: a request releases its own claim, never someone else's. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type Scripted = Redis & {
  idempotencyCompareAndSet(key: string, expected: string, next: string, ttlMs: number): Promise<number>;
  idempotencyRelease(key: string, claim: string): Promise<number>;
};

type Executor = Pick<DataSource | EntityManager, 'query'>;

const RECORD_COLUMNS = 'org_id, caller, key, fingerprint, status, body, headers, run_id, expires_at';

/** A key's record is written once; only an expired one (not yet purged) is replaced. */
const ON_RECORD_CONFLICT = `ON CONFLICT (org_id, caller, key) DO UPDATE
   SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, body = EXCLUDED.body,
       headers = EXCLUDED.headers, run_id = EXCLUDED.run_id, created_at = now(), expires_at = EXCLUDED.expires_at
 WHERE idempotency_records.expires_at <= now()`;

const INSERT_RECORD = `
INSERT INTO idempotency_records (${RECORD_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6::json, $7::jsonb, $8, now() + make_interval(secs => $9))
${ON_RECORD_CONFLICT}
RETURNING 1 AS inserted`;

const SELECT_RECORD = `
SELECT fingerprint, status, body, headers, run_id FROM idempotency_records
 WHERE org_id = $1 AND caller = $2 AND key = $3 AND expires_at > now()`;

/** A record made in a run's transaction is dropped with the run, never while the run exists. */
const DISCARD_RECORD = `
DELETE FROM idempotency_records r
 WHERE r.org_id = $1 AND r.caller = $2 AND r.key = $3 AND r.run_id = $4
   AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = $4)`;

const PURGE_EXPIRED = `
DELETE FROM idempotency_records WHERE ctid IN (
  SELECT ctid FROM idempotency_records WHERE expires_at <= now() LIMIT 5000)`;

/** The first seven values of a record, in `RECORD_COLUMNS` order (org … headers). */
function recordValues(scope: IdempotencyScope, fingerprint: string, response: StoredResponse): unknown[] {
  return [scope.orgId, scope.caller, scope.key, fingerprint, response.status, JSON.stringify(response.body ?? null), JSON.stringify(response.headers)];
}

/**
 * Both halves of idempotency. Redis holds the fast path: one `SET NX PX … GET` claims a key for
 * the lock timeout (or returns what holds it), and a finished request leaves a small "done"
 * marker for 24 h. PostgreSQL (`idempotency_records`) holds every finished response: replays
 * are answered from there, and a replay after Redis lost its keys still creates no run. Redis
 * never holds response bodies.
 */
@Injectable()
export class IdempotencyStore {
  private readonly logger = new Logger(IdempotencyStore.name);
  private readonly redis: Scripted;

  constructor(
    @InjectRedis() redis: Redis,
    @InjectDataSource() private readonly db: DataSource,
  ) {
    if (!('idempotencyCompareAndSet' in redis)) {
      redis.defineCommand('idempotencyCompareAndSet', { numberOfKeys: 1, lua: COMPARE_AND_SET_SCRIPT });
      redis.defineCommand('idempotencyRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
    }
    this.redis = redis as Scripted;
  }

  /**
   * `v2`: entries no longer carry the response. Processes of an older version, during a rolling
   * deploy, do not read these (nor these theirs); PostgreSQL still makes one run per key.
   */
  static redisKey(scope: IdempotencyScope): string {
    return `idem:v2:${scope.orgId}:${scope.caller}:${scope.key}`;
  }

  /** A running request's claim: unique per request (`token`). */
  static claimValue(token: string, fingerprint: string): string {
    return JSON.stringify({ state: 'running', token, fingerprint } satisfies IdempotencyEntry);
  }

  static doneValue(fingerprint: string): string {
    return JSON.stringify({ state: 'done', fingerprint } satisfies IdempotencyEntry);
  }

  /**
   * Claims the key with `claim` (a `claimValue`) for `lockMs`, in one round trip. Null: this
   * request owns it now. Otherwise the entry that holds it.
   */
  async claim(scope: IdempotencyScope, claim: string, lockMs: number): Promise<HeldEntry | null> {
    const previous = await this.redis.set(IdempotencyStore.redisKey(scope), claim, 'PX', lockMs, 'NX', 'GET');
    return previous === null ? null : { ...(JSON.parse(previous) as IdempotencyEntry), value: previous };
  }

  /** Replaces this request's claim with the "done" marker (24 h); nothing if it lost the claim. */
  async complete(scope: IdempotencyScope, claim: string, fingerprint: string): Promise<void> {
    await this.redis.idempotencyCompareAndSet(IdempotencyStore.redisKey(scope), claim, IdempotencyStore.doneValue(fingerprint), RETENTION_MS);
  }

  /** Replaces `held` with `claim` for `lockMs`; false when another request was first. */
  async takeOver(scope: IdempotencyScope, held: HeldEntry, claim: string, lockMs: number): Promise<boolean> {
    return (await this.redis.idempotencyCompareAndSet(IdempotencyStore.redisKey(scope), held.value, claim, lockMs)) === 1;
  }

  /** Lets the key be used again at once (5xx, 429, an error that is not a refusal). */
  async release(scope: IdempotencyScope, claim: string): Promise<void> {
    await this.redis.idempotencyRelease(IdempotencyStore.redisKey(scope), claim);
  }

  /**
   * Makes a finished response durable. False when a live record for the key already exists
   * (then nothing is written). With `executor` = a transaction's manager the record commits,
   * or not, with that transaction; a concurrent insert of the same key waits for it.
   */
  async saveRecord(
    scope: IdempotencyScope,
    fingerprint: string,
    response: StoredResponse,
    runId: string | null,
    executor: Executor = this.db,
  ): Promise<boolean> {
    const rows: unknown[] = await executor.query(INSERT_RECORD, [...recordValues(scope, fingerprint, response), runId, RETENTION_MS / 1000]);
    return rows.length > 0;
  }

  /**
   * `saveRecord` as one step of a caller's data-modifying CTE, so a run and its record are
   * written by one statement: records the run that the CTE step `source` inserted (its `id`
   * and `created_at` columns), with the JSON string `placeholder` in the body replaced by that
   * run's `created_at` (ISO 8601, milliseconds, as `Date.toISOString` writes it). Parameters
   * are numbered from `$first`. Returns one row when the record was written, none when a live
   * record for the key already exists.
   */
  recordStep(
    source: string,
    scope: IdempotencyScope,
    fingerprint: string,
    response: StoredResponse,
    placeholder: string,
    first: number,
  ): { sql: string; params: unknown[] } {
    const p = (i: number) => `$${first + i}`;
    const createdAt = `to_json(to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text`;
    const sql = `INSERT INTO idempotency_records (${RECORD_COLUMNS})
SELECT ${p(0)}::uuid, ${p(1)}::text, ${p(2)}::text, ${p(3)}::text, ${p(4)}::int, replace(${p(5)}::text, ${p(8)}::text, ${createdAt})::json,
       ${p(6)}::jsonb, s.id, now() + make_interval(secs => ${p(7)}::double precision)
  FROM ${source} s
${ON_RECORD_CONFLICT}
RETURNING 1`;
    const params = [...recordValues(scope, fingerprint, response), RETENTION_MS / 1000, JSON.stringify(placeholder)];
    return { sql, params };
  }

  async findRecord(scope: IdempotencyScope, executor: Executor = this.db): Promise<DurableRecord | null> {
    const rows: Array<Record<string, unknown>> = await executor.query(SELECT_RECORD, [scope.orgId, scope.caller, scope.key]);
    const row = rows[0];
    if (!row) return null;
    return {
      fingerprint: String(row.fingerprint),
      response: { status: Number(row.status), body: row.body, headers: (row.headers ?? {}) as Record<string, string> },
      runId: (row.run_id as string | null) ?? null,
    };
  }

  /** Drops the record a failed run creation left, unless its run exists after all. */
  async discardRecord(scope: IdempotencyScope, runId: string): Promise<void> {
    await this.db.query(DISCARD_RECORD, [scope.orgId, scope.caller, scope.key, runId]);
  }

  /** Deletes a batch of records past their 24 h; returns how many. */
  async purgeExpired(): Promise<number> {
    const result: unknown = await this.db.query(PURGE_EXPIRED);
    const affected = Array.isArray(result) ? Number(result[1] ?? 0) : 0;
    if (affected > 0) this.logger.log({ msg: 'purged expired idempotency records', count: affected });
    return affected;
  }
}
