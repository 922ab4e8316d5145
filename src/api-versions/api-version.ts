/**
 * The dated API versions this service speaks, oldest first. A new version is added here
 * and, when it changes a response shape, with a transform in `version-transforms.ts`.
 */
export const SUPPORTED_API_VERSIONS = ['2026-03-21', '2026-06-11'] as const;
export type ApiVersion = (typeof SUPPORTED_API_VERSIONS)[number];

export type ApiVersionCheck =
  | { ok: true; version: ApiVersion }
  | { ok: false; code: 'invalid_api_version' | 'unsupported_api_version' };

/** A real calendar date written exactly as YYYY-MM-DD (no 2026-02-30, no 2026-3-1). */
export function isCalendarDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(2000, mo - 1, d));
  // setUTCFullYear, because Date.UTC reads years 0–99 as 1900–1999.
  date.setUTCFullYear(y, mo - 1, d);
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

export function checkApiVersion(value: string): ApiVersionCheck {
  // A supported version is a valid date: checked first, as nearly every request names one.
  const known = SUPPORTED_API_VERSIONS.find((v) => v === value);
  if (known) return { ok: true, version: known };
  return { ok: false, code: isCalendarDate(value) ? 'unsupported_api_version' : 'invalid_api_version' };
}

/** True when `version` is at or after `since` (dates compare as strings in this form). */
export function isAtLeast(version: ApiVersion, since: ApiVersion): boolean {
  return version >= since;
}
