import type { FastifyRequest } from 'fastify';
import { hasBody, isJsonContentType } from '../common/http/json-body.parser.js';
import type { ProblemException } from '../common/problem/problem.exception.js';
import type { RunUploads } from './run-uploads.js';

/**
 * The body of a run request as it arrived, before any agent is known: parsed JSON (or why it
 * did not parse), the staged multipart parts, nothing, or a content type the route does not
 * take. The service judges it at step 9 (API.md section 5).
 */
export type RunSubmission =
  | { kind: 'empty' }
  | { kind: 'json'; body: unknown; error?: ProblemException }
  | { kind: 'multipart'; uploads: RunUploads }
  | { kind: 'unsupported'; contentType: string | undefined };

export function runSubmissionFrom(req: FastifyRequest): RunSubmission {
  if (req.uploads) return { kind: 'multipart', uploads: req.uploads };
  const contentType = req.headers['content-type'];
  if (isJsonContentType(contentType)) {
    if (req.bodyError) return { kind: 'json', body: undefined, error: req.bodyError };
    return req.body === undefined ? { kind: 'empty' } : { kind: 'json', body: req.body };
  }
  return hasBody(req) ? { kind: 'unsupported', contentType } : { kind: 'empty' };
}
