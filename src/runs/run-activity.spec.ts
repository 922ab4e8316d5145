import { describe, expect, it } from 'vitest';
import { ProblemException } from '../common/problem/problem.exception.js';
import { parseLogsQuery } from './run-logs.service.js';
import { parseWait } from './run-stream.service.js';

/** The `param` of the 400 `invalid_request` that `fn` throws. */
const paramOf = (fn: () => unknown): string | undefined => {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProblemException);
  expect((caught as ProblemException).code).toBe('invalid_request');
  return (caught as ProblemException).options.param;
};

describe('parseWait', () => {
  it('takes whole seconds from 1 to 55, nothing else', () => {
    expect(parseWait(undefined)).toBeNull();
    expect(parseWait('1')).toBe(1);
    expect(parseWait('55')).toBe(55);
    for (const bad of ['0', '56', '-1', '1.5', ' 5', 'abc', '', '005', ['1', '2']]) expect(paramOf(() => parseWait(bad))).toBe('wait');
  });
});

describe('parseLogsQuery', () => {
  it('defaults to everything (since 0, limit 1000) and names the faulty parameter', () => {
    expect(parseLogsQuery({})).toEqual({ since: 0, limit: 1000 });
    expect(parseLogsQuery({ since: '42', limit: '1' })).toEqual({ since: 42, limit: 1 });
    expect(parseLogsQuery({ since: '' })).toEqual({ since: 0, limit: 1000 });
    // `cursor` (a page's nextCursor) is the same position, and wins over a kept `since`.
    expect(parseLogsQuery({ cursor: '7' })).toEqual({ since: 7, limit: 1000 });
    expect(parseLogsQuery({ since: '5', cursor: '9', limit: '2' })).toEqual({ since: 9, limit: 2 });
    expect(parseLogsQuery({ since: '9', cursor: '5' })).toEqual({ since: 5, limit: 1000 });
    for (const since of ['x', '-1', '1e3', ['1']]) expect(paramOf(() => parseLogsQuery({ since }))).toBe('since');
    for (const cursor of ['x', '-1', 'eyJpZCI6MX0', ['1']]) expect(paramOf(() => parseLogsQuery({ cursor }))).toBe('cursor');
    for (const limit of ['0', '1001', 'ten', '']) expect(paramOf(() => parseLogsQuery({ limit }))).toBe('limit');
  });
});
