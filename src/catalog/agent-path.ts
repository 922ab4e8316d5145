import { ProblemException } from '../common/problem/problem.exception.js';

/** API.md section 3: `@scope/name`. The length cap keeps keys and logs sane (documented in OpenAPI). */
export const SCOPE_PATTERN = /^@[a-z0-9][a-z0-9-]*$/;
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
export const MAX_SCOPE_LENGTH = 128;
export const MAX_NAME_LENGTH = 128;

export interface AgentPath {
  scope: string;
  name: string;
}

export const isScope = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= MAX_SCOPE_LENGTH && SCOPE_PATTERN.test(value);

export const isAgentName = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(value);

/**
 * Validates the `{scope}/{name}` path parameters. The router normally decodes `%40` to `@`
 * already; a still-encoded `%40` (a proxy, a raw path) is accepted too.
 */
export function parseAgentPath(scope: string, name: string): AgentPath {
  const decodedScope = typeof scope === 'string' && /^%40/i.test(scope) ? `@${scope.slice(3)}` : scope;
  if (!isScope(decodedScope)) {
    throw new ProblemException(
      'invalid_request',
      `scope must look like @acme (an @, then lowercase letters, digits or dashes; at most ${MAX_SCOPE_LENGTH} characters).`,
      { param: 'scope' },
    );
  }
  if (!isAgentName(name)) {
    throw new ProblemException(
      'invalid_request',
      `name must be lowercase letters, digits or dashes, starting with a letter or digit (at most ${MAX_NAME_LENGTH} characters).`,
      { param: 'name' },
    );
  }
  return { scope: decodedScope, name };
}
