import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { newRequestId } from '../ids.js';
import type { Principal } from '../../auth/principal.js';
import type { ApiVersion } from '../../api-versions/api-version.js';

/** What one request knows about itself; read by logs, the problem filter and the version echo. */
export interface RequestContext {
  requestId: string;
  /** A valid inbound W3C traceparent, echoed back and logged. */
  traceparent?: string;
  principal?: Principal;
  apiVersion?: ApiVersion;
  runId?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Where a request's context is also kept on Node's request, for code that sees only that. */
const RAW_CONTEXT = Symbol('requestContext');
type WithContext = IncomingMessage & { [RAW_CONTEXT]?: RequestContext };

declare module 'fastify' {
  interface FastifyRequest {
    context: RequestContext;
  }
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function isValidTraceparent(value: string | undefined): value is string {
  const m = value ? TRACEPARENT.exec(value) : null;
  return !!m && m[1] !== 'ff' && !/^0+$/.test(m[2]) && !/^0+$/.test(m[3]);
}

/**
 * Runs `fn` inside a request's context. For callbacks the async context does not reach
 * reliably, such as the response's `finish` event.
 */
export function runInContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/**
 * Runs `fn` outside any request's context. For long-lived resources created lazily while a
 * request is served (a connection): their events would otherwise carry that request's context,
 * and its ids, into every later log line.
 */
export function outsideRequests<T>(fn: () => T): T {
  return storage.exit(fn);
}

/** The context of the request being served, when there is one (logs outside requests have none). */
export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * Gives a request its context: a fresh server-side request id (an inbound `Request-Id` is
 * ignored on purpose) and the traceparent echo. The headers go on the Node response, so that
 * every answer carries them: Fastify's replies, errors included, and streams written directly.
 */
function openRequestContext(req: FastifyRequest, reply: FastifyReply): RequestContext {
  const traceparent = req.headers.traceparent;
  const context: RequestContext = { requestId: newRequestId() };
  if (typeof traceparent === 'string' && isValidTraceparent(traceparent.trim().toLowerCase())) {
    context.traceparent = traceparent.trim().toLowerCase();
    reply.raw.setHeader('traceparent', context.traceparent);
  }
  req.context = context;
  (req.raw as WithContext)[RAW_CONTEXT] = context;
  reply.raw.setHeader('Request-Id', context.requestId);
  return context;
}

/** The context of a Node request, once it has one (the access log sees only Node's request). */
export function contextOfRaw(raw: IncomingMessage): RequestContext | undefined {
  return (raw as WithContext)[RAW_CONTEXT];
}

/**
 * The request's context, opened now if its hook did not run: Nest's own `onRequest` hook,
 * which runs first, sends a request target the router cannot take to the not-found handler.
 */
export function ensureRequestContext(req: FastifyRequest, reply: FastifyReply): RequestContext {
  return req.context ?? openRequestContext(req, reply);
}

/**
 * The app's first hook: each request's context, and the async context everything else reads
 * (Fastify runs the body parser's callback in the context of this hook, so it lasts through).
 * Nest's own hooks run before it; a request they turn away gets its context when answered.
 */
export function registerRequestContext(fastify: FastifyInstance): void {
  fastify.decorateRequest('context', null as unknown as RequestContext);
  fastify.addHook('onRequest', (req, reply, done) => storage.run(openRequestContext(req, reply), done));
}
