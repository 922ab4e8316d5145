import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemException } from '../problem/problem.exception.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** A body's bytes as received, multipart aside (fingerprinted by idempotency, handed to Better Auth). */
    rawBody?: Buffer;
    /** Set when the body was not usable; raised by BodyGuard (or by a handler that orders its own checks). */
    bodyError?: ProblemException;
  }
}

/** Fastify's own Content-Type parser (not exported): the judgement it refuses requests by. */
const FastifyContentType = createRequire(import.meta.url)('fastify/lib/content-type.js') as { from?(header: string): { isValid: boolean } };
// Checked at load, so that a Fastify release that moves it stops the app at start, not each request.
if (typeof FastifyContentType.from !== 'function') throw new Error('fastify/lib/content-type.js no longer exports ContentType.from');
const parseContentType = FastifyContentType.from.bind(FastifyContentType);

/**
 * Deeper bodies are refused: every later step (validation, transformation, fingerprints,
 * JSON Schema) walks values recursively, and a megabyte of `[` would overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether `value` nests objects/arrays deeper than `limit`, checked without recursion. */
export function nestingDepthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(current)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

export const isJsonContentType = (type: string | undefined): boolean =>
  !!type && /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(type.trim());

/** `multipart/form-data`: left unread here, for a route that streams uploads (the run route). */
export const isMultipartFormData = (type: string | undefined): boolean =>
  !!type && /^multipart\/form-data\s*(;|$)/i.test(type.trim());

export function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && Number(length) > 0) || req.headers['transfer-encoding'] !== undefined;
}

/**
 * The app's only body parser, for every content type. It reads JSON bodies without refusing
 * anything itself: a malformed body is recorded on the request so that it is refused in its
 * documented turn (after authentication, and for the run route after idempotency). Only an
 * oversized body is refused here, to stop reading it. Bodies of other types (but
 * multipart/form-data, which the run route streams itself) are read as bytes only, for
 * idempotency fingerprints; the route refuses them (415) in its turn.
 */
export function registerBodyParser(fastify: FastifyInstance, limitBytes: number): void {
  fastify.decorateRequest('rawBody', undefined);
  fastify.decorateRequest('bodyError', undefined);
  // Fastify answers a Content-Type it cannot parse with 415 before any guard runs. Such a body
  // is made plain bytes instead, refused (415) in its documented turn like any non-JSON type;
  // without a body, the header is dropped, as it is ignored anyway.
  fastify.addHook('onRequest', (req, _reply, done) => {
    const type = req.headers['content-type'];
    if (type !== undefined && type !== 'application/json' && !parseContentType(type).isValid) {
      if (hasBody(req)) req.headers['content-type'] = 'application/octet-stream';
      else delete req.headers['content-type'];
    }
    done();
  });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (req: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void) => {
    const type = req.headers['content-type'];
    if (!hasBody(req) || isMultipartFormData(type)) return done(null, undefined);
    const json = isJsonContentType(type);
    // The connection is closed after the answer: the rest of the body is not read.
    const tooLarge = () =>
      new ProblemException('payload_too_large', `The request body exceeds the limit of ${limitBytes} bytes.`, { headers: { Connection: 'close' } });
    if (Number(req.headers['content-length']) > limitBytes) return done(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    const finish = (err: Error | null, body?: unknown) => {
      if (finished) return;
      finished = true;
      done(err, body);
    };
    payload.on('data', (chunk: Buffer) => {
      if (finished) return;
      size += chunk.length;
      if (size > limitBytes) return finish(tooLarge());
      chunks.push(chunk);
    });
    // The client went away mid-body: there is no one left to answer.
    payload.on('error', () => {
      finished = true;
    });
    payload.on('end', () => {
      if (finished) return;
      const raw = Buffer.concat(chunks);
      req.rawBody = raw;
      if (!json) return finish(null, undefined);
      const text = raw.toString('utf8');
      if (text.trim() === '') return finish(null, undefined);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        req.bodyError = new ProblemException('invalid_request', 'The request body is not valid JSON.');
        return finish(null, undefined);
      }
      if (nestingDepthExceeds(body, MAX_JSON_DEPTH)) {
        req.bodyError = new ProblemException('invalid_request', `The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep.`);
        return finish(null, undefined);
      }
      finish(null, body);
    });
  });
}
