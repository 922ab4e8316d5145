import { Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { catchError, from, mergeMap, of, type Observable } from 'rxjs';
import type { ApiVersion } from '../api-versions/api-version.js';
import { transformResponse, type ResponseKind } from '../api-versions/version-transforms.js';
import { RESPONSE_KIND, type HttpResponse } from '../api-versions/versioned-response.interceptor.js';
import { callerKey } from '../auth/principal.js';
import { problemBody, problemHeaders } from '../common/problem/problem-response.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import type { AppConfig } from '../config/app.config.js';
import { InjectConfig } from '../config/config.module.js';
import { requestFingerprint } from './fingerprint.js';
import { IdempotencyClaim, IdempotentReplayError } from './idempotency-claim.js';
import { readIdempotencyKey } from './idempotency-key.js';
import { IdempotencyStore } from './idempotency.store.js';
import { replayedHeaders, type HeldEntry, type IdempotencyScope, type StoredResponse } from './idempotency.types.js';

declare module '../common/context/request-context.js' {
  interface RequestContext {
    /** This request's hold on its Idempotency-Key, while the handler runs. */
    idempotency?: IdempotencyClaim;
  }
}

/** Final responses that are kept and replayed: everything below 500 except 429 (API.md section 5). */
const isKept = (status: number): boolean => status < 500 && status !== 429;

const conflict = () =>
  new ProblemException(
    'idempotency_conflict',
    'This Idempotency-Key was already used for a different request (method, path, query, Appstrate-User or body). Use a new key.',
    { param: 'Idempotency-Key' },
  );
const inProgress = () =>
  new ProblemException('idempotency_in_progress', 'A request with this Idempotency-Key is still being processed. Retry shortly.', {
    param: 'Idempotency-Key',
    retryAfter: 1,
  });
const unavailable = () =>
  new ProblemException('service_unavailable', 'Idempotency is temporarily unavailable. Please retry shortly.', { retryAfter: 1 });

/**
 * `@Idempotent()`: claims the request's `Idempotency-Key` (one Redis round trip), replays a
 * finished response, refuses a different request (422) or a concurrent one (409), and keeps
 * the final response — status, body and `Location`, refusals included — once it is known, in
 * PostgreSQL (a run creation keeps it in the run's own statement); Redis only marks the key
 * done, and a retry of a finished request is answered from the record.
 *
 * It must run inside the upload interceptor (the multipart fingerprint needs the files'
 * digests) and around `VersionedResponseInterceptor`, so that what it keeps is what was sent.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(IdempotencyInterceptor.name);
  private readonly lockMs: number;

  constructor(
    private readonly store: IdempotencyStore,
    private readonly reflector: Reflector,
    @InjectConfig() config: AppConfig,
  ) {
    this.lockMs = config.runs.idempotencyLockTimeoutSeconds * 1000;
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const res = context.switchToHttp().getResponse<FastifyReply>();
    const key = readIdempotencyKey(req);
    const principal = req.context.principal;
    if (key === undefined || !principal?.orgId) return next.handle();

    const scope: IdempotencyScope = { orgId: principal.orgId, caller: callerKey(principal), key };
    const fingerprint = requestFingerprint(req);
    const value = IdempotencyStore.claimValue(req.context.requestId, fingerprint);
    let held: HeldEntry | null;
    try {
      held = await this.store.claim(scope, value, this.lockMs);
    } catch (err) {
      this.logger.error({ err, msg: 'idempotency claim failed' });
      throw unavailable();
    }
    if (held) {
      if (held.fingerprint !== fingerprint) throw conflict();
      if (held.state === 'running') throw inProgress();
      const record = await this.store.findRecord(scope).catch((err: unknown) => {
        this.logger.error({ err, msg: 'idempotency record lookup failed' });
        throw unavailable();
      });
      if (record) {
        if (record.fingerprint !== fingerprint) throw conflict();
        return of(this.replay(res, record.response));
      }
      // The marker outlived its record (purged after its 24 h): the key is free again.
      if (!(await this.takeOver(scope, held, value))) throw inProgress();
    }

    const kind = this.reflector.get<ResponseKind | undefined>(RESPONSE_KIND, context.getHandler());
    const claim = new IdempotencyClaim(scope, fingerprint, value, this.store, (r) =>
      this.shape(r, kind, req.context.apiVersion),
    );
    req.context.idempotency = claim;
    return next.handle().pipe(
      mergeMap((body) => from(this.onResult(claim, res, body))),
      catchError((err: unknown) => from(this.onError(claim, req, res, err))),
    );
  }

  /** The handler answered: keep the response as it will be sent (or release the key). */
  private async onResult(claim: IdempotencyClaim, res: FastifyReply, body: unknown): Promise<unknown> {
    if (!isKept(res.statusCode)) {
      await this.release(claim);
      return body;
    }
    // A run creation made its record durable in its own transaction (the same response, shaped
    // by the same version transform); anything else is kept here.
    let released = false;
    if (claim.persistedStatus !== res.statusCode) {
      const response: StoredResponse = {
        status: res.statusCode,
        body: body === undefined ? null : JSON.parse(JSON.stringify(body)),
        headers: replayedHeaders(res.getHeaders()),
      };
      const existing = claim.persistedRunId ? null : await this.persist(claim, response);
      released = existing === 'released';
      if (existing && !released) this.logger.error({ msg: 'a handler succeeded on an Idempotency-Key that already had a durable record' });
    }
    if (!released) await this.complete(claim);
    return body;
  }

  /** The handler refused (or failed): keep a refusal, release the key on anything else. */
  private async onError(claim: IdempotencyClaim, req: FastifyRequest, res: FastifyReply, err: unknown): Promise<unknown> {
    if (err instanceof IdempotentReplayError) return this.replayDurable(claim, res, err);
    if (!(err instanceof ProblemException) || !isKept(err.status)) {
      await this.release(claim);
      if (claim.persistedRunId) {
        await this.store.discardRecord(claim.scope, claim.persistedRunId).catch((e: unknown) => {
          this.logger.error({ err: e, msg: 'could not discard the idempotency record of a failed run creation' });
        });
      }
      throw err;
    }
    // Rendered exactly as the global filter will write it (same request id, same body).
    const response: StoredResponse = {
      status: err.status,
      body: problemBody(err, req.context.requestId),
      headers: replayedHeaders(problemHeaders(err)),
    };
    const existing = await this.persist(claim, response);
    if (existing === 'released') throw err;
    if (existing) return this.replayExisting(claim, res, existing);
    await this.complete(claim);
    throw err;
  }

  /**
   * Writes the durable record. Returns the record that already holds the key when there is one
   * (Redis had lost the key); then that earlier response is the one to answer with. If the
   * record cannot be written, the key is released ('released'): a retry runs again rather than
   * wait for a response that was never kept.
   */
  private async persist(claim: IdempotencyClaim, response: StoredResponse): Promise<StoredResponse | 'conflict' | 'released' | null> {
    try {
      if (await this.store.saveRecord(claim.scope, claim.fingerprint, response, null)) return null;
      const record = await this.store.findRecord(claim.scope);
      if (!record) return null;
      return record.fingerprint === claim.fingerprint ? record.response : 'conflict';
    } catch (err) {
      this.logger.error({ err, msg: 'could not store the idempotency record' });
      await this.release(claim);
      return 'released';
    }
  }

  private async replayDurable(claim: IdempotencyClaim, res: FastifyReply, err: IdempotentReplayError): Promise<unknown> {
    const record = err.record;
    if (!record) {
      await this.release(claim);
      throw inProgress();
    }
    return this.replayExisting(claim, res, record.fingerprint === claim.fingerprint ? record.response : 'conflict');
  }

  private async replayExisting(claim: IdempotencyClaim, res: FastifyReply, existing: StoredResponse | 'conflict'): Promise<unknown> {
    if (existing === 'conflict') {
      await this.release(claim);
      throw conflict();
    }
    await this.complete(claim);
    return this.replay(res, existing);
  }

  /** Sends a kept response again: its status, body and headers, marked as a replay. */
  private replay(res: FastifyReply, stored: StoredResponse): unknown {
    res.status(stored.status);
    for (const [name, value] of Object.entries(stored.headers)) res.header(name, value);
    res.header('Idempotent-Replayed', 'true');
    return stored.body;
  }

  private shape(response: HttpResponse, kind: ResponseKind | undefined, version: ApiVersion | undefined): StoredResponse {
    const shaped = kind && version ? transformResponse(kind, response, version) : response;
    return {
      status: shaped.status,
      // Serialized as JSON when stored, so the record holds what is sent.
      body: shaped.body === undefined ? null : shaped.body,
      headers: replayedHeaders(shaped.headers),
    };
  }

  /** Marks the key done once the response is durable, so that retries are answered from PostgreSQL. */
  private async complete(claim: IdempotencyClaim): Promise<void> {
    try {
      await this.store.complete(claim.scope, claim.value, claim.fingerprint);
    } catch (err) {
      // PostgreSQL has the record; once the claim expires, a retry is answered from there.
      this.logger.error({ err, msg: 'could not mark the idempotency key done in Redis' });
    }
  }

  private async takeOver(scope: IdempotencyScope, held: HeldEntry, value: string): Promise<boolean> {
    try {
      return await this.store.takeOver(scope, held, value, this.lockMs);
    } catch (err) {
      this.logger.error({ err, msg: 'idempotency claim failed' });
      throw unavailable();
    }
  }

  private async release(claim: IdempotencyClaim): Promise<void> {
    try {
      await this.store.release(claim.scope, claim.value);
    } catch (err) {
      // The claim then expires after the lock timeout.
      this.logger.error({ err, msg: 'could not release the idempotency claim' });
    }
  }
}
