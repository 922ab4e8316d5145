import { describe, expect, it } from 'vitest';
import { parseAgentPath } from './agent-path.js';

describe('parseAgentPath', () => {
  it('accepts @scope/name, with the @ decoded or still percent-encoded', () => {
    expect(parseAgentPath('@acme', 'triage')).toEqual({ scope: '@acme', name: 'triage' });
    expect(parseAgentPath('%40acme', 'triage-2')).toEqual({ scope: '@acme', name: 'triage-2' });
    expect(parseAgentPath('%40a-1', '0x')).toEqual({ scope: '@a-1', name: '0x' });
  });

  it.each([
    ['acme', 'triage', 'scope'],
    ['@Acme', 'triage', 'scope'],
    ['@-acme', 'triage', 'scope'],
    ['@', 'triage', 'scope'],
    ['%40', 'triage', 'scope'],
    ['@acme', 'Triage', 'name'],
    ['@acme', '-triage', 'name'],
    ['@acme', 'tri_age', 'name'],
    ['@acme', 'x'.repeat(129), 'name'],
  ])('refuses %s/%s naming %s', (scope, name, param) => {
    expect(() => parseAgentPath(scope, name)).toThrow(expect.objectContaining({ code: 'invalid_request', options: { param } }));
  });
});
