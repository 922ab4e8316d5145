import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ProblemException } from '../problem/problem.exception.js';
import { writeProblem } from '../problem/problem-response.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The JSON body's bytes as received (idempotency fingerprints a body that does not parse). */
    rawBody?: Buffer;
    /** Set when the body was not usable; raised by BodyGuard (or by a handler that orders its own checks). */
    bodyError?: ProblemException;
  }
}

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

export function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && Number(length) > 0) || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads JSON bodies without refusing anything itself: a malformed body is recorded on the
 * request so that it is refused in its documented turn (after authentication, and for the run
 * route after idempotency). Only an oversized body is refused here, to stop reading it.
 * Bodies of other types (but multipart/form-data, which the run route streams itself) are read as bytes
 * only, for idempotency fingerprints; the route refuses them (415) in its turn.
 */
export function jsonBodyMiddleware(limitBytes: number): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const type = req.headers['content-type'];
    if (!hasBody(req) || isMultipartFormData(type)) return next();
    const json = isJsonContentType(type);
    const declared = Number(req.headers['content-length']);
    const tooLarge = () =>
      new ProblemException('payload_too_large', `The request body exceeds the limit of ${limitBytes} bytes.`);
    if (declared > limitBytes) {
      res.setHeader('Connection', 'close');
      return writeProblem(req, res, tooLarge());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        done = true;
        res.setHeader('Connection', 'close');
        writeProblem(req, res, tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      done = true;
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const raw = Buffer.concat(chunks);
      req.rawBody = raw;
      if (!json) return next();
      const text = raw.toString('utf8');
      if (text.trim() === '') {
        req.body = undefined;
      } else {
        try {
          req.body = JSON.parse(text);
          if (nestingDepthExceeds(req.body, MAX_JSON_DEPTH)) {
            req.body = undefined;
            req.bodyError = new ProblemException('invalid_request', `The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep.`);
          }
        } catch {
          req.body = undefined;
          req.bodyError = new ProblemException('invalid_request', 'The request body is not valid JSON.');
        }
      }
      next();
    });
  };
}
