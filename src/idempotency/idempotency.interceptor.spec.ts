import { Logger, type CallHandler, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { firstValueFrom, of, throwError, type Observable } from 'rxjs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ProblemException } from '../common/problem/problem.exception.js';
import type { AppConfig } from '../config/app.config.js';
import { requestFingerprint } from './fingerprint.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyStore } from './idempotency.store.js';

const scope = { orgId: 'org_1', caller: 'key:key_1', key: 'key-abc' };

function setup() {
  const req = {
    headers: { 'idempotency-key': scope.key, 'content-type': 'application/json' },
    method: 'POST',
    url: '/api/agents/@acme/bot/run',
    query: {},
    body: { input: { q: 1 } },
    rawBody: Buffer.from('{"input":{"q":1}}'),
    context: {
      requestId: 'req_1',
      principal: { kind: 'api_key', userId: 'usr_1', apiKeyId: 'key_1', orgId: scope.orgId, role: 'admin', permissions: new Set(), endUserId: null, orgApiVersion: null },
    },
  } as unknown as FastifyRequest;
  const res = { statusCode: 200, status: vi.fn(), header: vi.fn(), getHeaders: () => ({}) };
  res.status.mockImplementation((s: number) => ((res.statusCode = s), res));
  const store = {
    claim: vi.fn().mockResolvedValue(null),
    findRecord: vi.fn().mockResolvedValue(null),
    takeOver: vi.fn().mockResolvedValue(true),
    saveRecord: vi.fn().mockResolvedValue(true),
    complete: vi.fn().mockResolvedValue(undefined),
    release: vi.fn().mockResolvedValue(undefined),
    discardRecord: vi.fn().mockResolvedValue(undefined),
  };
  const config = { runs: { idempotencyLockTimeoutSeconds: 60 } } as AppConfig;
  const interceptor = new IdempotencyInterceptor(store as unknown as IdempotencyStore, new Reflector(), config);
  const context = {
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
    getHandler: () => function handler() {},
  } as unknown as ExecutionContext;
  const fingerprint = requestFingerprint(req);
  const value = IdempotencyStore.claimValue('req_1', fingerprint);
  /** Runs the interceptor around a handler that answers `result`, as Nest would. */
  const run = async (result: () => Observable<unknown>) => {
    const next: CallHandler = { handle: vi.fn(result) };
    const outcome = firstValueFrom(await interceptor.intercept(context, next));
    return { outcome, next };
  };
  return { req, res, store, fingerprint, value, run };
}

/** A "done" marker in Redis whose PostgreSQL record has already been purged. */
const doneMarker = (fingerprint: string) => ({ state: 'done', fingerprint, value: 'x' });

describe('IdempotencyInterceptor', () => {
  // The failures below are logged on purpose; keep them out of the test output.
  beforeEach(() => void vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined));

  it('answers 409 idempotency_in_progress when another request took over an orphaned done marker first', async () => {
    const { store, fingerprint, run } = setup();
    store.claim.mockResolvedValue(doneMarker(fingerprint));
    store.takeOver.mockResolvedValue(false);
    const handler = vi.fn(() => of({ ok: true }));
    await expect(run(handler)).rejects.toMatchObject({ code: 'idempotency_in_progress', status: 409 });
    expect(handler).not.toHaveBeenCalled();
  });

  it('answers 503 service_unavailable when taking over an orphaned done marker fails', async () => {
    const { store, fingerprint, run } = setup();
    store.claim.mockResolvedValue(doneMarker(fingerprint));
    store.takeOver.mockRejectedValue(new Error('redis down'));
    const handler = vi.fn(() => of({ ok: true }));
    await expect(run(handler)).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
    expect(handler).not.toHaveBeenCalled();
  });

  it('runs the handler once it took over an orphaned done marker, and marks the key done with its own claim', async () => {
    const { store, fingerprint, value, run } = setup();
    store.claim.mockResolvedValue(doneMarker(fingerprint));
    const { outcome, next } = await run(() => of({ id: 'run_1' }));
    await expect(outcome).resolves.toEqual({ id: 'run_1' });
    expect(next.handle).toHaveBeenCalledTimes(1);
    expect(store.takeOver).toHaveBeenCalledWith(scope, doneMarker(fingerprint), value, 60_000);
    expect(store.complete).toHaveBeenCalledWith(scope, value, fingerprint);
  });

  it('releases the key and still answers the refusal when the refusal cannot be kept', async () => {
    const { store, value, run } = setup();
    store.saveRecord.mockRejectedValue(new Error('postgres down'));
    const refusal = new ProblemException('agent_not_found', 'No agent @acme/bot.');
    const { outcome } = await run(() => throwError(() => refusal));
    await expect(outcome).rejects.toBe(refusal);
    expect(store.release).toHaveBeenCalledWith(scope, value);
    expect(store.complete).not.toHaveBeenCalled();
  });

  it('releases the key and still answers the body when a 200 cannot be kept', async () => {
    const { store, value, run } = setup();
    store.saveRecord.mockRejectedValue(new Error('postgres down'));
    const { outcome } = await run(() => of({ id: 'run_1' }));
    await expect(outcome).resolves.toEqual({ id: 'run_1' });
    expect(store.release).toHaveBeenCalledWith(scope, value);
    expect(store.complete).not.toHaveBeenCalled();
  });
});
