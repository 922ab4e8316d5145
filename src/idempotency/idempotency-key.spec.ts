import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ProblemException } from '../common/problem/problem.exception.js';
import { isValidIdempotencyKey, readIdempotencyKey } from './idempotency-key.js';
import { replayedHeaders } from './idempotency.types.js';

const withKey = (value: unknown) => ({ headers: value === undefined ? {} : { 'idempotency-key': value } }) as unknown as FastifyRequest;

describe('Idempotency-Key', () => {
  it('accepts 1 to 255 visible ASCII characters', () => {
    expect(isValidIdempotencyKey('a')).toBe(true);
    expect(isValidIdempotencyKey('x'.repeat(255))).toBe(true);
    expect(isValidIdempotencyKey('!~{}[]|"\'=:;,./<>?@#$%^&*()')).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(256)],
    ['a space', 'a b'],
    ['a tab', 'a\tb'],
    ['DEL', 'a\x7fb'],
    ['non-ASCII', 'clé'],
  ])('refuses %s', (_, value) => {
    expect(isValidIdempotencyKey(value)).toBe(false);
    expect(() => readIdempotencyKey(withKey(value))).toThrowError(
      expect.objectContaining({ code: 'invalid_idempotency_key', options: { param: 'Idempotency-Key' } }),
    );
    expect(() => readIdempotencyKey(withKey(value))).toThrowError(ProblemException);
  });

  it('is optional', () => {
    expect(readIdempotencyKey(withKey(undefined))).toBeUndefined();
    expect(readIdempotencyKey(withKey('k-1'))).toBe('k-1');
  });
});

describe('replayedHeaders', () => {
  it('keeps only the headers that belong to the response, with canonical names', () => {
    expect(
      replayedHeaders({
        location: '/api/runs/run_1',
        'content-type': 'application/problem+json',
        'retry-after': 3,
        'request-id': 'req_1',
        'appstrate-version': '2026-06-11',
        ratelimit: '"run";r=1;t=2',
      }),
    ).toEqual({ Location: '/api/runs/run_1', 'Content-Type': 'application/problem+json', 'Retry-After': '3' });
  });
});
