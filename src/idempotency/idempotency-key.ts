import type { FastifyRequest } from 'fastify';
import { ProblemException } from '../common/problem/problem.exception.js';

/** 1 to 255 visible ASCII characters (API.md section 5); anything else, the empty value included, is refused. */
const VISIBLE_ASCII_KEY = /^[\x21-\x7e]{1,255}$/;

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

export function isValidIdempotencyKey(value: string): boolean {
  return VISIBLE_ASCII_KEY.test(value);
}

/** The request's `Idempotency-Key`, undefined when absent; a malformed (or repeated) one → 400. */
export function readIdempotencyKey(req: FastifyRequest): string | undefined {
  const value = req.headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isValidIdempotencyKey(value)) {
    throw new ProblemException(
      'invalid_idempotency_key',
      'Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces or control characters).',
      { param: IDEMPOTENCY_KEY_HEADER },
    );
  }
  return value;
}
