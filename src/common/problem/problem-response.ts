import type { FastifyReply, FastifyRequest } from 'fastify';
import { ensureRequestContext } from '../context/request-context.js';
import { PROBLEM_CODES, problemType } from './problem-codes.js';
import type { ProblemException } from './problem.exception.js';

/** The RFC 9457 body for a refusal, as API.md section 1 shapes it. */
export function problemBody(problem: ProblemException, requestId: string): Record<string, unknown> {
  const { param, errors, retryAfter } = problem.options;
  return {
    type: problemType(problem.code),
    title: PROBLEM_CODES[problem.code].title,
    status: problem.status,
    detail: problem.detail,
    instance: `urn:appstrate:request:${requestId}`,
    code: problem.code,
    requestId,
    ...(param !== undefined && { param }),
    ...(retryAfter !== undefined && { retryAfter }),
    ...(errors !== undefined && { errors }),
  };
}

/** A problem response's headers: its own (`Allow`, …), `Retry-After` when it has one, and its media type. */
export function problemHeaders(problem: ProblemException): Record<string, string> {
  const headers: Record<string, string> = { ...(problem.options.headers ?? {}), 'Content-Type': 'application/problem+json' };
  if (problem.options.retryAfter !== undefined) headers['Retry-After'] = String(problem.options.retryAfter);
  return headers;
}

/** Writes a problem response: the global filter's, and Fastify's for a URL it cannot route. */
export function writeProblem(req: FastifyRequest, reply: FastifyReply, problem: ProblemException): void {
  if (reply.sent || reply.raw.headersSent) {
    reply.raw.destroy();
    return;
  }
  reply
    .status(problem.status)
    .headers(problemHeaders(problem))
    // A Buffer, so that Fastify keeps the media type as is (it appends a charset to strings).
    .send(Buffer.from(JSON.stringify(problemBody(problem, ensureRequestContext(req, reply).requestId))));
}

/**
 * A whole HTTP/1.1 problem response, for a request Node's parser refused (no request object
 * exists, and the connection is closed after it).
 */
export function rawProblemResponse(problem: ProblemException, requestId: string): string {
  const body = JSON.stringify(problemBody(problem, requestId));
  const headers = { ...problemHeaders(problem), 'Request-Id': requestId, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${problem.status} ${PROBLEM_CODES[problem.code].title}\r\n${lines.join('')}\r\n${body}`;
}
