import semver from 'semver';

/** Versions are short; the cap keeps cursors and tags compact. */
export const MAX_VERSION_LENGTH = 100;

/**
 * A version as written at publish time: valid SemVer 2.0 (build metadata allowed), without
 * the leading `v` or `=` and the surrounding spaces that the semver package would tolerate.
 */
export function isPublishableVersion(value: string): boolean {
  return value.length <= MAX_VERSION_LENGTH && /^[0-9]/.test(value) && value.trim() === value && semver.valid(value) !== null;
}

/** The highest of `versions` (by SemVer precedence), or null. */
export function highestVersion(versions: readonly string[]): string | null {
  return versions.reduce<string | null>((best, v) => (best === null || semver.gt(v, best) ? v : best), null);
}

/** The highest non-yanked, non-prerelease version: where `latest` belongs. */
export function highestStable(versions: ReadonlyArray<{ version: string; yanked: boolean }>): string | null {
  return highestVersion(versions.filter((v) => !v.yanked && semver.prerelease(v.version) === null).map((v) => v.version));
}
