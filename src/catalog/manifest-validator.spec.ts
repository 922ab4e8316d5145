import { describe, expect, it } from 'vitest';
import { ProblemException } from '../common/problem/problem.exception.js';
import { manifestErrors, validateManifest } from './manifest-validator.js';

const fileSchema = {
  type: 'object',
  properties: {
    ticket: { type: 'string' },
    attachment: { type: 'string', format: 'uri', contentMediaType: 'application/pdf' },
    photos: { type: 'array', items: { type: 'string', format: 'uri', contentMediaType: 'image/*' } },
  },
  required: ['ticket'],
};

describe('manifest validation', () => {
  it('accepts the documented example and minimal manifests', () => {
    const example = {
      description: 'Triage a support ticket',
      model: 'fast',
      timeoutSeconds: 300,
      input: { schema: fileSchema, fileConstraints: { attachment: { accept: '.pdf', maxSize: 5242880 }, photos: { accept: 'image/png,.jpg' } } },
      output: { schema: { type: 'object', properties: { priority: { enum: ['low', 'high'] } } } },
    };
    expect(validateManifest(example)).toBe(example);
    expect(manifestErrors({})).toEqual([]);
    expect(manifestErrors({ input: { schema: true }, output: {} })).toEqual([]);
    expect(manifestErrors({ timeoutSeconds: 1 })).toEqual([]);
    expect(manifestErrors({ timeoutSeconds: 1800 })).toEqual([]);
  });

  it('refuses a schema that refers to itself without descending into the value, keeps real recursion', () => {
    for (const schema of [{ $ref: '#' }, { $dynamicAnchor: 'x', $dynamicRef: '#x' }, { type: 'object', allOf: [{ $ref: '#' }] }]) {
      expect(manifestErrors({ input: { schema } }), JSON.stringify(schema)).toEqual([
        expect.objectContaining({ field: 'manifest.input.schema', code: 'invalid_schema', message: expect.stringContaining('refers to itself') }),
      ]);
    }
    const tree = { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } } };
    expect(manifestErrors({ input: { schema: tree }, output: { schema: tree } })).toEqual([]);
  });

  it('refuses a $schema other than 2020-12 (another draft, or not a string) as invalid_schema, never throws', () => {
    for (const $schema of ['http://json-schema.org/draft-07/schema#', 'https://example.com/mine', 1, null]) {
      for (const at of ['input', 'output'] as const) {
        expect(manifestErrors({ [at]: { schema: { $schema, type: 'object' } } }), `${at} ${String($schema)}`).toEqual([
          expect.objectContaining({ field: `manifest.${at}.schema`, code: 'invalid_schema' }),
        ]);
      }
    }
    expect(manifestErrors({ input: { schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' } } })).toEqual([]);
  });

  it('accepts formats ajv-formats does not know (annotations), wherever they appear', () => {
    const schema = { type: 'object', properties: { phone: { type: 'string', format: 'phone' }, list: { items: { format: 'x-color' } } } };
    expect(manifestErrors({ input: { schema }, output: { schema: { type: 'string', format: 'ticket-id' } } })).toEqual([]);
  });

  it.each<[string, unknown, string, string]>([
    ['not an object', [], 'manifest', 'invalid'],
    ['null', null, 'manifest', 'invalid'],
    ['unknown top-level key', { prompt: 'x' }, 'manifest.prompt', 'unknown_field'],
    ['description not a string', { description: 3 }, 'manifest.description', 'invalid'],
    ['empty model', { model: '  ' }, 'manifest.model', 'invalid'],
    ['model not a string', { model: 1 }, 'manifest.model', 'invalid'],
    ['timeout 0', { timeoutSeconds: 0 }, 'manifest.timeoutSeconds', 'invalid'],
    ['timeout 1801', { timeoutSeconds: 1801 }, 'manifest.timeoutSeconds', 'invalid'],
    ['timeout fractional', { timeoutSeconds: 1.5 }, 'manifest.timeoutSeconds', 'invalid'],
    ['timeout as a string', { timeoutSeconds: '300' }, 'manifest.timeoutSeconds', 'invalid'],
    ['input not an object', { input: 'x' }, 'manifest.input', 'invalid'],
    ['unknown input key', { input: { schemas: {} } }, 'manifest.input.schemas', 'unknown_field'],
    ['unknown output key', { output: { schema: {}, strict: true } }, 'manifest.output.strict', 'unknown_field'],
    ['schema not a schema', { input: { schema: 'object' } }, 'manifest.input.schema', 'invalid_schema'],
    ['schema fails the meta-schema', { input: { schema: { type: 'object', properties: { a: { type: 'strin' } } } } }, 'manifest.input.schema.properties.a.type', 'invalid_schema'],
    ['unknown keyword (a typo)', { output: { schema: { type: 'object', requried: ['a'] } } }, 'manifest.output.schema', 'invalid_schema'],
    ['invalid regular expression', { input: { schema: { type: 'string', pattern: '(' } } }, 'manifest.input.schema', 'invalid_schema'],
    ['remote $ref', { input: { schema: { $ref: 'https://example.com/s.json' } } }, 'manifest.input.schema', 'invalid_schema'],
    ['fileConstraints not an object', { input: { schema: fileSchema, fileConstraints: [] } }, 'manifest.input.fileConstraints', 'invalid'],
    ['constraint on a non-file field', { input: { schema: fileSchema, fileConstraints: { ticket: { maxSize: 1 } } } }, 'manifest.input.fileConstraints.ticket', 'not_a_file_field'],
    ['constraint without a schema', { input: { fileConstraints: { attachment: { maxSize: 1 } } } }, 'manifest.input.fileConstraints.attachment', 'not_a_file_field'],
    ['constraint not an object', { input: { schema: fileSchema, fileConstraints: { attachment: '.pdf' } } }, 'manifest.input.fileConstraints.attachment', 'invalid'],
    ['unknown constraint key', { input: { schema: fileSchema, fileConstraints: { attachment: { types: '.pdf' } } } }, 'manifest.input.fileConstraints.attachment.types', 'unknown_field'],
    ['empty accept', { input: { schema: fileSchema, fileConstraints: { attachment: { accept: ' , ' } } } }, 'manifest.input.fileConstraints.attachment.accept', 'invalid'],
    ['accept not a string', { input: { schema: fileSchema, fileConstraints: { attachment: { accept: ['.pdf'] } } } }, 'manifest.input.fileConstraints.attachment.accept', 'invalid'],
    ['accept entry neither extension nor MIME', { input: { schema: fileSchema, fileConstraints: { attachment: { accept: 'pdf' } } } }, 'manifest.input.fileConstraints.attachment.accept', 'invalid'],
    ['accept with an unknown extension', { input: { schema: fileSchema, fileConstraints: { attachment: { accept: '.zzzunknown' } } } }, 'manifest.input.fileConstraints.attachment.accept', 'invalid'],
    ['maxSize zero', { input: { schema: fileSchema, fileConstraints: { attachment: { maxSize: 0 } } } }, 'manifest.input.fileConstraints.attachment.maxSize', 'invalid'],
    ['maxSize fractional', { input: { schema: fileSchema, fileConstraints: { attachment: { maxSize: 1.5 } } } }, 'manifest.input.fileConstraints.attachment.maxSize', 'invalid'],
    ['maxSize as a string', { input: { schema: fileSchema, fileConstraints: { attachment: { maxSize: '10' } } } }, 'manifest.input.fileConstraints.attachment.maxSize', 'invalid'],
    [
      'contentMediaType that is no MIME type',
      { input: { schema: { type: 'object', properties: { f: { type: 'string', format: 'uri', contentMediaType: 'pdf' } } } } },
      'manifest.input.schema.properties.f.contentMediaType',
      'invalid',
    ],
    [
      'array file field contentMediaType',
      { input: { schema: { type: 'object', properties: { f: { type: 'array', items: { type: 'string', format: 'uri', contentMediaType: '.pdf' } } } } } },
      'manifest.input.schema.properties.f.items.contentMediaType',
      'invalid',
    ],
  ])('refuses %s', (_label, manifest, field, code) => {
    const errors = manifestErrors(manifest);
    expect(errors).toContainEqual(expect.objectContaining({ field, code }));
  });

  it('reports every problem at once, as validation_failed', () => {
    let thrown: unknown;
    try {
      validateManifest({ timeoutSeconds: 0, extra: 1, output: { schema: { type: 'nope' } } });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ProblemException);
    const problem = thrown as ProblemException;
    expect(problem.code).toBe('validation_failed');
    const fields = problem.options.errors!.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['manifest.timeoutSeconds', 'manifest.extra', 'manifest.output.schema.type']));
  });
});
