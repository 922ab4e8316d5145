import { describe, expect, it } from 'vitest';
import { ajvErrorsToFieldErrors, compileUserSchema, createAjv, pointerSegments } from './json-schema.js';

describe('createAjv', () => {
  it('speaks 2020-12 with formats asserted and every error collected', () => {
    const validate = createAjv().compile({
      type: 'object',
      properties: { email: { type: 'string', format: 'email' }, tags: { type: 'array', prefixItems: [{ type: 'string' }] } },
      required: ['email', 'name'],
    });
    expect(validate({ email: 'a@example.com', name: 'x', tags: ['a', 1] })).toBe(true);
    expect(validate({ email: 'nope' })).toBe(false);
    expect(validate.errors).toHaveLength(2);
  });

  it('refuses unknown keywords and invalid patterns, tolerates untyped properties', () => {
    expect(() => createAjv().compile({ type: 'object', requried: ['a'] })).toThrow(/unknown keyword/);
    expect(() => createAjv().compile({ type: 'string', pattern: '(' })).toThrow();
    expect(() => createAjv().compile({ properties: { a: { type: ['string', 'null'] } } })).not.toThrow();
    expect(() => createAjv().compile({ $ref: 'https://example.com/schema.json' })).toThrow();
  });

  it('caches compiled user schemas, even with an $id', () => {
    const schema = { $id: 'https://example.com/s', type: 'string' };
    const first = compileUserSchema(schema);
    expect(compileUserSchema({ ...schema })).toBe(first);
    expect(first('x')).toBe(true);
  });
});

describe('ajvErrorsToFieldErrors', () => {
  it('prefixes paths, names missing and extra properties, never echoes values', () => {
    const validate = createAjv().compile({
      type: 'object',
      properties: { email: { type: 'string', format: 'email' }, items: { type: 'array', items: { type: 'integer' } }, 'a/b': { type: 'string' } },
      required: ['email', 'name'],
      additionalProperties: false,
    });
    validate({ email: 'secret-value', items: [1, 'also-secret'], extra: true, 'a/b': 3 });
    const errors = ajvErrorsToFieldErrors(validate.errors, 'input');
    expect(errors.map((e) => e.field).sort()).toEqual(['input.a/b', 'input.email', 'input.extra', 'input.items.1', 'input.name']);
    expect(errors.every((e) => e.code === 'invalid_input')).toBe(true);
    expect(JSON.stringify(errors)).not.toMatch(/secret/);
  });

  it('uses the code given and copes with no errors', () => {
    expect(ajvErrorsToFieldErrors(null, 'output')).toEqual([]);
    const validate = createAjv().compile({ type: 'string' });
    validate(1);
    expect(ajvErrorsToFieldErrors(validate.errors, 'output', 'output_invalid')).toEqual([
      { field: 'output', code: 'output_invalid', message: 'output must be string' },
    ]);
  });

  it('unescapes JSON pointers', () => {
    expect(pointerSegments('')).toEqual([]);
    expect(pointerSegments('/a~1b/c~0d/0')).toEqual(['a/b', 'c~d', '0']);
  });
});
