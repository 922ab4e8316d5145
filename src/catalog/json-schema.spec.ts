import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { backtrackingChoices } from './linear-regexp.js';
import { ajvErrorsToFieldErrors, compileSchema, compileUserSchema, createAjv, pointerSegments, schemaErrors } from './json-schema.js';

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

  it('matches patterns in linear time: a catastrophic-backtracking pattern answers at once', () => {
    // With a backtracking engine, ^(a+)+$ on 100 000 a's and a "!" would not finish in our lifetime.
    const evil = 'a'.repeat(100_000) + '!';
    const validate = createAjv().compile({
      type: 'object',
      properties: { word: { type: 'string', pattern: '^(a+)+$' } },
      patternProperties: { '^(x+x+)+y$': { type: 'string' } },
      propertyNames: { pattern: '^(\\w+\\s?)*$' },
    });
    expect(validate({ word: evil })).toBe(false);
    expect(validate.errors).toEqual([expect.objectContaining({ keyword: 'pattern', instancePath: '/word' })]);
    expect(validate({ word: 'aaa' })).toBe(true);
    expect(validate({ [`${'x'.repeat(50_000)}!`]: 1 })).toBe(false);
    expect(validate({ xxy: 1 })).toBe(false);
    expect(validate({ xxy: 'ok' })).toBe(true);
  });

  it('keeps the patterns people write, and refuses what the linear engine cannot run or would reinterpret', () => {
    const slug = createAjv().compile({ type: 'string', pattern: '^[a-z]+(-[a-z]+)*$' });
    expect(slug('print-me-now')).toBe(true);
    expect(slug('Print me')).toBe(false);
    expect(createAjv().compile({ type: 'string', pattern: '\\\\p\\{' })('\\p{')).toBe(true);
    for (const pattern of ['(a)\\1', 'a(?=b)', '(?<!a)b', '^\\p{L}+$', '^.{1,1000}$', '^([a-z0-9-]{1,63}\\.)+[a-z]{2,}$', '^[a-z]{1,20}[0-9]{1,20}$']) {
      expect(() => createAjv().compile({ type: 'string', pattern }), pattern).toThrow(/can take more than linear time/);
    }
  });

  it('runs counted repetitions above 16 and \\p{…} in the ordinary engine when their work per character is bounded', () => {
    const host = createAjv().compile({ type: 'string', pattern: '^[a-z0-9-]{1,63}$' });
    expect(host('my-host-1')).toBe(true);
    expect(host('x'.repeat(64))).toBe(false);
    expect(createAjv().compile({ type: 'string', pattern: '^[0-9a-f]{32}$' })('0123456789abcdef0123456789abcdef')).toBe(true);
    const letters = createAjv().compile({ type: 'string', pattern: '^\\p{L}{1,40}$' });
    expect(letters('héllo')).toBe(true);
    expect(letters('h3llo')).toBe(false);
    expect(createAjv().compile({ type: 'string', pattern: '^\\u{1F600}$' })('😀')).toBe(true);
    expect(backtrackingChoices('^[a-z0-9-]{1,63}$')).toBe(63);
    expect(backtrackingChoices('^(ab|cd|ef)x{2,3}y?$')).toBe(12);
    expect(backtrackingChoices('a{3}[{]\\{')).toBe(1);
    for (const unbounded of ['a*', 'a+', 'a{2,}', '(ab){2}', '(a)\\1', '\\k<x>', '(?=a)', '(?<!a)']) expect(backtrackingChoices(unbounded), unbounded).toBeNull();
  });

  it('asserts the formats ajv-formats knows and treats any other format as an annotation', () => {
    const validate = compileSchema({ type: 'object', properties: { email: { format: 'email' }, phone: { format: 'phone' } } });
    expect(validate({ email: 'a@example.com', phone: 'anything at all' })).toBe(true);
    expect(validate({ email: 'nope', phone: 'x' })).toBe(false);
    expect(validate.errors).toEqual([expect.objectContaining({ instancePath: '/email', keyword: 'format' })]);
    expect(() => createAjv().compile({ type: 'string', format: 'phone' })).toThrow(/unknown format/);
  });

  it('bounds the cache by the schema text it holds, dropping the least recently used', () => {
    const huge = { type: 'string', description: 'd'.repeat(17 * 1024 * 1024) };
    const first = compileUserSchema(huge);
    expect(compileUserSchema(huge)).toBe(first); // alone over the bound, the newest entry stays
    compileUserSchema({ type: 'integer', minimum: 7 });
    expect(compileUserSchema(huge)).not.toBe(first); // dropped to make room, compiled again
  });

  it('reports a loop only some values reach as an error of the value, never throws', () => {
    // Passes the write-time probes (simple values), loops for a string `a`.
    const schema = {
      type: 'object',
      properties: { a: { $ref: '#/$defs/loop' } },
      $defs: { loop: { if: { type: 'string' }, then: { $ref: '#/$defs/loop' } } },
    };
    expect(schemaErrors(schema, { a: 1 })).toBeNull();
    expect(schemaErrors(schema, { a: 'x' })).toEqual([expect.objectContaining({ instancePath: '', message: expect.stringContaining('without end') })]);
    expect(schemaErrors({ type: 'string' }, 3)).toEqual([expect.objectContaining({ keyword: 'type' })]);
    // Stored before a rule it breaks (here: a backreference): reported, not thrown.
    expect(schemaErrors({ type: 'string', pattern: '(a)\\1' }, 'aa')).toEqual([expect.objectContaining({ message: expect.stringContaining('no longer compiles') })]);
  });

  it('checks uniqueItems by JSON equality in linear time, reporting the first duplicate as Ajv does', () => {
    const validate = createAjv().compile({ type: 'object', properties: { list: { type: 'array', uniqueItems: true } } });
    // Ajv's own pairwise check took seconds for 30,000 small arrays; this must be immediate.
    const many = Array.from({ length: 100_000 }, (_, i) => [i, { n: i }]);
    expect(validate({ list: many })).toBe(true);
    expect(validate({ list: [...many, [5, { n: 5 }]] })).toBe(false);
    expect(validate.errors).toEqual([
      expect.objectContaining({ keyword: 'uniqueItems', instancePath: '/list', params: { i: 100_000, j: 5 }, message: 'must NOT have duplicate items (items ## 5 and 100000 are identical)' }),
    ]);
    expect(validate({ list: [{ a: 1, b: 2 }, { b: 2, a: 1 }] })).toBe(false);
    expect(validate({ list: [1, '1', [1], { 1: 1 }, null, true] })).toBe(true);
    expect(createAjv().compile({ type: 'array', uniqueItems: false })([1, 1])).toBe(true);
  });

  it('caches compiled user schemas, even with an $id', () => {
    const schema = { $id: 'https://example.com/s', type: 'string' };
    const first = compileUserSchema(schema);
    expect(compileUserSchema({ ...schema })).toBe(first);
    expect(first('x')).toBe(true);
  });

  it('knows a schema object it compiled before without serializing it again', () => {
    const schema = { type: 'object', properties: { note: { type: 'string', description: 'x'.repeat(10_000) } } };
    const first = compileUserSchema(schema);
    const stringify = vi.spyOn(JSON, 'stringify');
    onTestFinished(() => stringify.mockRestore());
    expect(compileUserSchema(schema)).toBe(first);
    expect(stringify).not.toHaveBeenCalled();
    // An equal object not seen before is still found by its text.
    expect(compileUserSchema(structuredClone(schema))).toBe(first);
    expect(stringify).toHaveBeenCalledTimes(1);
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
