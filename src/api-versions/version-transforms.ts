import type { ApiVersion } from './api-version.js';

/** A response as the current code produces it, before it is shaped for an older version. */
export interface VersionedResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Names a kind of response that older versions shape differently (set with `@VersionedResponse`). */
export type ResponseKind = 'run.created';

/**
 * One dated change to the wire format. For a caller on an older version, `down` turns the
 * current response of that kind into what the caller's version promised.
 */
export interface VersionChange {
  /** The first version with the new behaviour. */
  version: ApiVersion;
  description: string;
  down: Partial<Record<ResponseKind, (response: VersionedResponse) => VersionedResponse>>;
}

/** Every change, newest first. Adding a version adds an entry here; controllers stay as they are. */
export const VERSION_CHANGES: readonly VersionChange[] = [
  {
    version: '2026-06-11',
    description: 'Creating a run answers 201 Created with Location and the Run resource.',
    down: {
      'run.created': (r) => ({ status: 200, headers: {}, body: { runId: (r.body as { id: string }).id } }),
    },
  },
];

/** Applies, newest first, every change made after `target` to a response of `kind`. */
export function transformResponse(
  kind: ResponseKind,
  response: VersionedResponse,
  target: ApiVersion,
  changes: readonly VersionChange[] = VERSION_CHANGES,
): VersionedResponse {
  return changes
    .filter((change) => change.version > target)
    .reduce((current, change) => change.down[kind]?.(current) ?? current, response);
}
