import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';
import { newRequestId } from '../ids.js';
import type { Principal } from '../../auth/principal.js';
import type { ApiVersion } from '../../api-versions/api-version.js';

/** What one unit of work (a request, or a run a worker executes) tells its log lines. */
export interface WorkContext {
  requestId?: string;
  /** A valid inbound W3C traceparent, echoed back and logged. */
  traceparent?: string;
  principal?: Principal;
  /** The org worked for when there is no principal (a worker's run). */
  orgId?: string;
  apiVersion?: ApiVersion;
  runId?: string;
}

/** What one request knows about itself; read by logs, the problem filter and the version echo. */
export interface RequestContext extends WorkContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<WorkContext>();

declare module 'express-serve-static-core' {
  interface Request {
    context: RequestContext;
  }
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function isValidTraceparent(value: string | undefined): value is string {
  const m = value ? TRACEPARENT.exec(value) : null;
  return !!m && m[1] !== 'ff' && !/^0+$/.test(m[2]) && !/^0+$/.test(m[3]);
}

/**
 * Runs `fn` inside a unit of work's context: a worker's run, or a request's for callbacks the
 * async context does not reach reliably, such as the response's `finish` event.
 */
export function runInContext<T>(context: WorkContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context of the request or run being served, when there is one (startup logs have none). */
export function currentContext(): WorkContext | undefined {
  return storage.getStore();
}

/**
 * First middleware of the app: a fresh server-side request id (an inbound `Request-Id` is
 * ignored on purpose), the traceparent echo, and the async context everything else reads.
 */
export function requestContextMiddleware(req: Request, res: Response, next: NextFunction): void {
  const traceparent = req.headers.traceparent;
  const context: RequestContext = { requestId: newRequestId() };
  if (typeof traceparent === 'string' && isValidTraceparent(traceparent.trim().toLowerCase())) {
    context.traceparent = traceparent.trim().toLowerCase();
    res.setHeader('traceparent', context.traceparent);
  }
  req.context = context;
  res.setHeader('Request-Id', context.requestId);
  storage.run(context, next);
}
