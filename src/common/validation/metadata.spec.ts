import { describe, expect, it } from 'vitest';
import { metadataProblem } from './metadata.js';

describe('metadata rule', () => {
  it('accepts up to 20 keys of 1..40 characters with string values up to 500 characters', () => {
    expect(metadataProblem({})).toBeNull();
    const max = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${String(i).padStart(39, '0')}`, 'v'.repeat(500)]));
    expect(metadataProblem(max)).toBeNull();
  });

  it.each([
    [null],
    [[]],
    ['text'],
    [42],
    [Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']))],
    [{ ['k'.repeat(41)]: 'v' }],
    [{ '': 'v' }],
    [{ k: 'v'.repeat(501) }],
    [{ k: 1 }],
    [{ k: null }],
    [{ k: { nested: 'x' } }],
  ])('refuses %j without quoting it', (value) => {
    const problem = metadataProblem(value);
    expect(problem).toMatch(/^metadata /);
    expect(problem).not.toContain('vvvv');
  });
});
