import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { canonicalJson } from '../common/canonical-json.js';
import { isJsonContentType } from '../common/http/json-body.parser.js';

/**
 * What an upload interceptor leaves on a multipart request (`req.uploads`): the text parts and,
 * per file part, what identifies its content. Only these properties are read here.
 */
export interface UploadsDigestSource {
  fields: Record<string, string | string[] | undefined>;
  files: ReadonlyArray<{ field: string; filename: string; size: number; sha256: string }>;
  /** Why the body is not usable multipart, when it is not. */
  problem?: { detail: string };
}

/** The body part of a fingerprint, tagged by kind so that no two kinds can collide. */
export function bodyDigest(req: FastifyRequest): string {
  const uploads = (req as FastifyRequest & { uploads?: UploadsDigestSource }).uploads;
  if (uploads) {
    // Text parts by name (repeated parts keep their order); files by field, in the order sent
    // within a field (an array field's order is part of the input).
    const fields = Object.keys(uploads.fields)
      .filter((name) => uploads.fields[name] !== undefined)
      .sort()
      .map((name) => [name, uploads.fields[name]]);
    const files = uploads.files
      .map((f, i) => ({ f, i }))
      .sort((a, b) => (a.f.field < b.f.field ? -1 : a.f.field > b.f.field ? 1 : a.i - b.i))
      .map(({ f }) => [f.field, f.filename, f.size, f.sha256]);
    return `multipart:${JSON.stringify(uploads.problem ? [fields, files, uploads.problem.detail] : [fields, files])}`;
  }
  if (req.body !== undefined) return `json:${canonicalJson(req.body)}`;
  // A JSON body that is empty (or blank) is no body, as for the route.
  const json = isJsonContentType(req.headers['content-type']);
  if (req.rawBody === undefined || (json && !req.bodyError)) return 'none';
  // Any other body (a JSON body that does not parse, or one of another type, even empty) by its
  // type and bytes: it is refused later anyway, but never the same as no body or another body.
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  return `raw:${JSON.stringify(mediaType)}:${createHash('sha256').update(req.rawBody).digest('hex')}`;
}

/**
 * SHA-256 (hex) over what makes two requests "the same" for idempotency (API.md section 5):
 * the method, the path with `%40` decoded to `@`, the query, `Appstrate-User` and the body.
 * `Appstrate-Version` is deliberately not part of it.
 */
export function requestFingerprint(req: FastifyRequest): string {
  const url = req.url;
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(/%40/gi, '@');
  const query = q < 0 ? '' : url.slice(q + 1);
  const endUser = req.headers['appstrate-user'];
  const parts = [req.method.toUpperCase(), path, query, endUser === undefined ? null : String(endUser), bodyDigest(req)];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
