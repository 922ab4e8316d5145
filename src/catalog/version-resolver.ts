import semver from 'semver';
import { ProblemException } from '../common/problem/problem.exception.js';

/** `latest`, `beta`, `next-1.x` … (API.md section 3). */
export const TAG_PATTERN = /^[a-z][a-z0-9._-]*$/;
export const MAX_TAG_LENGTH = 128;
/** Longer selectors are refused before semver parses them (semver's own cap is 256). */
export const MAX_SELECTOR_LENGTH = 256;

export const isTagName = (value: string): boolean => value.length <= MAX_TAG_LENGTH && TAG_PATTERN.test(value);

/** What resolution needs to know about one published version. */
export interface CatalogVersion {
  version: string;
  yanked: boolean;
}

export interface Catalog {
  versions: readonly CatalogVersion[];
  /** tag → version. */
  tags: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
}

/** The live agent, or one published version (and how the selector found it). */
export type Resolution = { kind: 'live' } | { kind: 'version'; version: string; via: 'exact' | 'tag' | 'range' };

const notFound = (detail: string) => new ProblemException('agent_version_not_found', detail);

function tagTarget(tags: Catalog['tags'], tag: string): string | undefined {
  if (tags instanceof Map) return tags.get(tag);
  const record = tags as Readonly<Record<string, string>>;
  return Object.hasOwn(record, tag) ? record[tag] : undefined;
}

/**
 * Resolves `?version=` over an agent's versions and tags (API.md section 5, step 8):
 * omitted or empty → the live agent; an exact version (yanked ones included); else a dist-tag
 * (one pointing at a yanked version does not resolve); else a semver range (the highest
 * non-yanked match, prereleases only when the range names one on the same major.minor.patch,
 * as npm does). Nothing matching → 404 `agent_version_not_found`; a value that is none of a
 * version, a tag or a range → 400 `invalid_request` with `param: "version"`.
 *
 * Pure: no I/O, so the run endpoint and the tests share exactly this logic.
 */
export function resolveVersion(selector: string | undefined, catalog: Catalog): Resolution {
  if (selector === undefined || selector === '') return { kind: 'live' };
  if (selector.length > MAX_SELECTOR_LENGTH || selector.trim() === '') {
    throw new ProblemException('invalid_request', 'version must be a version, a dist-tag or a semver range.', { param: 'version' });
  }

  const exact = semver.valid(selector);
  if (exact !== null) {
    const hit = catalog.versions.find((v) => semver.eq(v.version, exact));
    if (hit) return { kind: 'version', version: hit.version, via: 'exact' };
  }

  if (isTagName(selector)) {
    const target = tagTarget(catalog.tags, selector);
    if (target !== undefined) {
      const row = catalog.versions.find((v) => v.version === target);
      if (!row || row.yanked) throw notFound(`The dist-tag ${selector} points at a yanked version.`);
      return { kind: 'version', version: row.version, via: 'tag' };
    }
  }

  const range = semver.validRange(selector);
  if (range !== null) {
    const candidates = catalog.versions.filter((v) => !v.yanked).map((v) => v.version);
    const best = semver.maxSatisfying(candidates, range);
    if (best !== null) return { kind: 'version', version: best, via: 'range' };
    throw notFound(exact !== null ? `Version ${exact} is not published.` : 'No published, non-yanked version matches this range.');
  }

  if (isTagName(selector)) throw notFound(`No dist-tag named ${selector}.`);
  throw new ProblemException('invalid_request', 'version must be a version, a dist-tag or a semver range.', { param: 'version' });
}
