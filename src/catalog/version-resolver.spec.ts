import { describe, expect, it } from 'vitest';
import { ProblemException } from '../common/problem/problem.exception.js';
import { resolveVersion, type Catalog } from './version-resolver.js';

/**
 * One catalogue with stable, prerelease and yanked versions and several tags:
 * 1.2.0 and 2.0.0-beta.2 are yanked; `old` points at the yanked 1.2.0.
 */
const catalog: Catalog = {
  versions: [
    { version: '0.9.0', yanked: false },
    { version: '1.0.0', yanked: false },
    { version: '1.1.0', yanked: false },
    { version: '1.1.5', yanked: false },
    { version: '1.2.0', yanked: true },
    { version: '1.3.0-beta.1', yanked: false },
    { version: '1.3.0-rc.1', yanked: false },
    { version: '2.0.0-beta.1', yanked: false },
    { version: '2.0.0-beta.2', yanked: true },
  ],
  tags: { latest: '1.1.5', beta: '2.0.0-beta.1', old: '1.2.0', x: '0.9.0' },
};

type Expected = { version: string; via: 'exact' | 'tag' | 'range' } | { live: true } | { status: 404 | 400 };

const cases: Array<[string, string | undefined, Expected]> = [
  ['omitted → live', undefined, { live: true }],
  ['empty → live', '', { live: true }],
  ['exact hit', '1.1.0', { version: '1.1.0', via: 'exact' }],
  ['exact prerelease hit', '1.3.0-rc.1', { version: '1.3.0-rc.1', via: 'exact' }],
  ['exact yanked still found', '1.2.0', { version: '1.2.0', via: 'exact' }],
  ['exact yanked prerelease still found', '2.0.0-beta.2', { version: '2.0.0-beta.2', via: 'exact' }],
  ['exact with a v prefix', 'v1.0.0', { version: '1.0.0', via: 'exact' }],
  ['exact ignoring build metadata', '1.1.0+build.7', { version: '1.1.0', via: 'exact' }],
  ['exact miss (well-formed) → 404', '1.4.0', { status: 404 }],
  ['tag', 'latest', { version: '1.1.5', via: 'tag' }],
  ['tag on a prerelease', 'beta', { version: '2.0.0-beta.1', via: 'tag' }],
  ['tag on a yanked version → 404', 'old', { status: 404 }],
  ['tag wins over the range of the same spelling', 'x', { version: '0.9.0', via: 'tag' }],
  ['well-formed unknown tag → 404', 'nightly', { status: 404 }],
  ['caret skips yanked and prereleases', '^1.0.0', { version: '1.1.5', via: 'range' }],
  ['caret below 1.0', '^0.9.0', { version: '0.9.0', via: 'range' }],
  ['tilde', '~1.1.0', { version: '1.1.5', via: 'range' }],
  ['tilde with only a yanked match → 404', '~1.2.0', { status: 404 }],
  ['x-range', '1.x', { version: '1.1.5', via: 'range' }],
  ['x-range minor', '1.1.x', { version: '1.1.5', via: 'range' }],
  ['partial version is a range', '1', { version: '1.1.5', via: 'range' }],
  ['star excludes prereleases', '*', { version: '1.1.5', via: 'range' }],
  ['comparator range', '>=1.0.0 <1.1.5', { version: '1.1.0', via: 'range' }],
  ['or-range', '^3.0.0 || ~1.0.0', { version: '1.0.0', via: 'range' }],
  ['hyphen range', '1.0.0 - 1.1.0', { version: '1.1.0', via: 'range' }],
  ['prerelease range on the same major.minor.patch', '^1.3.0-beta.0', { version: '1.3.0-rc.1', via: 'range' }],
  ['prerelease range skips yanked prereleases', '>=2.0.0-beta.1', { version: '2.0.0-beta.1', via: 'range' }],
  ['prerelease range ignores prereleases of other tuples', '>=1.1.0-alpha <2.0.0', { version: '1.1.5', via: 'range' }],
  ['range naming no prerelease never picks one', '>=1.3.0', { status: 404 }],
  ['range with no match → 404', '^5.0.0', { status: 404 }],
  ['garbage → 400', '!!', { status: 400 }],
  ['uppercase tag-like garbage → 400', 'Latest', { status: 400 }],
  ['broken range → 400', '1.2.3 || nope', { status: 400 }],
  ['whitespace only → 400', '   ', { status: 400 }],
  ['overlong → 400', `${'1'.repeat(300)}`, { status: 400 }],
];

describe('resolveVersion', () => {
  it.each(cases)('%s (%j)', (_label, selector, expected) => {
    if ('status' in expected) {
      let thrown: unknown;
      try {
        resolveVersion(selector, catalog);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ProblemException);
      const problem = thrown as ProblemException;
      expect(problem.status).toBe(expected.status);
      if (expected.status === 400) {
        expect(problem.code).toBe('invalid_request');
        expect(problem.options.param).toBe('version');
      } else {
        expect(problem.code).toBe('agent_version_not_found');
      }
      return;
    }
    const result = resolveVersion(selector, catalog);
    expect(result).toEqual('live' in expected ? { kind: 'live' } : { kind: 'version', ...expected });
  });

  it('accepts tags as a Map too', () => {
    expect(resolveVersion('latest', { versions: catalog.versions, tags: new Map([['latest', '1.0.0']]) })).toEqual({
      kind: 'version',
      version: '1.0.0',
      via: 'tag',
    });
  });

  it('does not treat inherited object keys as tags', () => {
    expect(() => resolveVersion('constructor', { versions: catalog.versions, tags: {} })).toThrow(ProblemException);
  });

  it('with no versions, anything but the live agent is not found', () => {
    const empty: Catalog = { versions: [], tags: {} };
    expect(resolveVersion(undefined, empty)).toEqual({ kind: 'live' });
    for (const selector of ['1.0.0', 'latest', '*', '^1.0.0']) {
      expect(() => resolveVersion(selector, empty)).toThrow(expect.objectContaining({ code: 'agent_version_not_found' }));
    }
  });
});
