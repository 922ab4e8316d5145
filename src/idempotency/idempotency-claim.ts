import type { EntityManager } from 'typeorm';
import type { HttpResponse } from '../api-versions/versioned-response.interceptor.js';
import type { DurableRecord, IdempotencyScope, StoredResponse } from './idempotency.types.js';
import type { IdempotencyStore } from './idempotency.store.js';

/**
 * Thrown from `IdempotencyClaim.recordWithin` when the key already has a finished response in
 * PostgreSQL (Redis lost the key, or a claim outlived its lock). The run's transaction must
 * roll back; the idempotency interceptor then replays that response (or answers 422).
 * Do not catch it in between.
 */
export class IdempotentReplayError extends Error {
  constructor(readonly record: DurableRecord | null) {
    super('The Idempotency-Key already has a finished response.');
    this.name = 'IdempotentReplayError';
  }
}

/**
 * A request's hold on its `Idempotency-Key`, set by `IdempotencyInterceptor` on
 * `req.context.idempotency` (absent when the request sent no key).
 *
 * Why a run's creator must call `recordWithin` inside the run's transaction: the durable
 * record is what guarantees "one run per key" when Redis cannot (flushed, or a claim that
 * outlived its lock). Its primary key (org, caller, key) makes a second transaction for the
 * same key wait for the first and then find its record, so at most one run commits, and the
 * response of a committed run can always be replayed (the record is never younger than the run).
 */
export class IdempotencyClaim {
  /** The run whose transaction made the record durable, once `recordWithin` succeeded. */
  persistedRunId: string | null = null;
  /** The status of the response `recordWithin` (or `recordStep`) made durable. */
  persistedStatus: number | null = null;

  constructor(
    readonly scope: IdempotencyScope,
    readonly fingerprint: string,
    /** This request's claim as Redis holds it (unique per request): only it may release the key. */
    readonly value: string,
    private readonly store: IdempotencyStore,
    /** Turns the handler's result into the response as it will be sent (version transforms applied). */
    private readonly shape: (response: HttpResponse) => StoredResponse,
  ) {}

  /**
   * Writes the final response of a run creation as the key's durable record, with `manager`
   * (the transaction that inserts the run). `response` is what the handler returns (the
   * current version's shape; the caller's API version is applied here, as the interceptor does).
   * Throws `IdempotentReplayError` when the key already has a record: let it roll the
   * transaction back and propagate.
   */
  async recordWithin(manager: EntityManager, runId: string, response: HttpResponse): Promise<void> {
    const stored = this.shape(response);
    const inserted = await this.store.saveRecord(this.scope, this.fingerprint, stored, runId, manager);
    if (!inserted) throw new IdempotentReplayError(await this.store.findRecord(this.scope, manager));
    this.persistedRunId = runId;
    this.persistedStatus = stored.status;
  }

  /**
   * `recordWithin` for a creator that inserts its run and this record in ONE statement (one
   * round trip less on the hot path): the record's insert as a step of the creator's CTE (see
   * `IdempotencyStore.recordStep`). `response` carries `placeholder` where the run's
   * `created_at` goes, which only the statement knows. Afterwards call `recorded` (a row came
   * back) or throw `conflict()` (none did: roll the transaction back) — same contract as
   * `recordWithin`.
   */
  recordStep(source: string, response: HttpResponse, placeholder: string, first: number): { sql: string; params: unknown[] } {
    const stored = this.shape(response);
    this.pendingStatus = stored.status;
    return this.store.recordStep(source, this.scope, this.fingerprint, stored, placeholder, first);
  }

  /** The statement wrote the record (with the run's `created_at` in place of the placeholder). */
  recorded(runId: string): void {
    this.persistedRunId = runId;
    this.persistedStatus = this.pendingStatus;
    this.pendingStatus = null;
  }

  /** The statement found a live record for the key: what to throw so the transaction rolls back. */
  async conflict(manager: EntityManager): Promise<IdempotentReplayError> {
    this.pendingStatus = null;
    return new IdempotentReplayError(await this.store.findRecord(this.scope, manager));
  }

  private pendingStatus: number | null = null;
}
