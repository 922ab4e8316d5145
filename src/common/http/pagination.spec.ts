import { describe, expect, it } from 'vitest';
import { ProblemException } from '../problem/problem.exception.js';
import { decodeCursor, encodeCursor, parsePageRequest, toPage } from './pagination.js';
import { nestingDepthExceeds } from './json-body.parser.js';

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof ProblemException ? { code: err.code, param: err.options.param } : { code: 'other', param: undefined };
  }
  return null;
};

describe('paging', () => {
  it('round-trips the cursors it issues', () => {
    const cursor = { createdAt: '2026-03-21T10:00:00.123Z', id: 'eu_0193a0c1-7b2e-7cc1-9a51-3f1e2d4c5b6a' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it('defaults and bounds limit', () => {
    expect(parsePageRequest({})).toEqual({ limit: 20, cursor: null });
    expect(parsePageRequest({ limit: '100' }).limit).toBe(100);
    expect(parsePageRequest({ limit: '1' }).limit).toBe(1);
    for (const limit of ['0', '101', '-1', '1.5', '1e2', 'abc', '', ' 5', ['1', '2']]) {
      expect(refusal(() => parsePageRequest({ limit })), String(limit)).toEqual({ code: 'invalid_request', param: 'limit' });
    }
  });

  it('refuses cursors it did not issue', () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const cursor of ['%%%', 'A'.repeat(600), b64({}), b64(['2020-01-01T00:00:00.000Z']), b64(['2020-01-01', 'x']), b64(['2020-01-01T00:00:00.000Z', 1]), b64(['2020-01-01T00:00:00.000Z', '']), b64(['2026-02-30T00:00:00.000Z', 'x']), b64(['2026-01-01T24:00:00.000Z', 'x']), b64(['0000-06-01T00:00:00.000Z', 'x'])]) {
      expect(refusal(() => parsePageRequest({ cursor })), cursor.slice(0, 20)).toEqual({ code: 'invalid_request', param: 'cursor' });
    }
    expect(parsePageRequest({ cursor: '' }).cursor).toBeNull();
  });

  it('builds the envelope from limit + 1 rows', () => {
    const rows = [3, 2, 1].map((n) => ({ id: `id${n}`, createdAt: new Date(Date.UTC(2026, 0, n)) }));
    const page = toPage(rows, 2, (r) => r.id);
    expect(page).toMatchObject({ object: 'list', data: ['id3', 'id2'], hasMore: true });
    expect(decodeCursor(page.nextCursor!)).toEqual({ createdAt: '2026-01-02T00:00:00.000Z', id: 'id2' });
    expect(toPage(rows, 3, (r) => r.id)).toEqual({ object: 'list', data: ['id3', 'id2', 'id1'], hasMore: false, nextCursor: null });
  });
});

describe('JSON nesting depth', () => {
  const nest = (depth: number) => JSON.parse('['.repeat(depth) + ']'.repeat(depth));
  it('measures objects and arrays without recursion', () => {
    expect(nestingDepthExceeds({ a: 1 }, 1)).toBe(false);
    expect(nestingDepthExceeds({ a: { b: 1 } }, 1)).toBe(true);
    expect(nestingDepthExceeds(nest(64), 64)).toBe(false);
    expect(nestingDepthExceeds(nest(65), 64)).toBe(true);
    expect(nestingDepthExceeds(nest(5000), 64)).toBe(true);
    expect(nestingDepthExceeds('string', 0)).toBe(false);
  });
});
