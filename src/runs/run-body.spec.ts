import { describe, expect, it } from 'vitest';
import type { AgentManifest } from '../catalog/manifest.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { acceptRunBody, effectiveFileType } from './run-body.js';
import type { UploadedRunFile } from './run-uploads.js';

const MANIFEST: AgentManifest = {
  input: {
    schema: {
      type: 'object',
      properties: {
        ticket: { type: 'string' },
        doc: { type: 'string', format: 'uri', contentMediaType: 'application/pdf' },
        pics: { type: 'array', items: { type: 'string', format: 'uri', contentMediaType: 'image/*' }, maxItems: 2 },
      },
      required: ['ticket'],
    },
    fileConstraints: { doc: { maxSize: 100 } },
  },
};

const upload = (field: string, extra: Partial<UploadedRunFile> = {}): UploadedRunFile => ({
  field,
  filename: 'f.bin',
  declaredType: 'application/octet-stream',
  detectedType: field === 'doc' ? 'application/pdf' : 'image/png',
  size: 10,
  sha256: 'ab'.repeat(32),
  stagingKey: `staging/${field}`,
  ...extra,
});

function refusal(fn: () => unknown): ProblemException {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProblemException) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('effectiveFileType', () => {
  it('prefers the sniffed type, then the extension, then the declared type', () => {
    expect(effectiveFileType({ detectedType: 'image/png', filename: 'a.pdf', declaredType: 'application/pdf' })).toBe('image/png');
    expect(effectiveFileType({ detectedType: null, filename: 'notes.TXT', declaredType: 'application/octet-stream' })).toBe('text/plain');
    expect(effectiveFileType({ detectedType: null, filename: 'README', declaredType: 'text/markdown' })).toBe('text/markdown');
    expect(effectiveFileType({ detectedType: null, filename: '.hidden', declaredType: 'text/plain' })).toBe('text/plain');
  });
});

describe('acceptRunBody', () => {
  it('puts files in the input as file:// references, arrays for array fields', () => {
    const body = acceptRunBody(
      { kind: 'multipart', uploads: { fields: { input: '{"ticket":"t"}', modelId: 'm' }, files: [upload('doc'), upload('pics'), upload('pics')] } },
      MANIFEST,
    );
    expect(body.modelId).toBe('m');
    expect(body.files.map((f) => f.field)).toEqual(['doc', 'pics', 'pics']);
    expect(body.input).toEqual({
      ticket: 't',
      doc: `file://${body.files[0].id}`,
      pics: [`file://${body.files[1].id}`, `file://${body.files[2].id}`],
    });
  });

  it('gathers shape, metadata and input problems into one validation_failed', () => {
    const error = refusal(() => acceptRunBody({ kind: 'json', body: { input: { ticket: 1 }, metadata: { k: 2 }, extra: true } }, MANIFEST));
    expect(error.code).toBe('validation_failed');
    expect(error.options.errors?.map((e) => [e.field, e.code])).toEqual([
      ['extra', 'unknown_field'],
      ['metadata', 'invalid'],
      ['input.ticket', 'invalid_input'],
    ]);
  });

  it('reports a file field filled in JSON once, not also as a schema problem', () => {
    const error = refusal(() => acceptRunBody({ kind: 'json', body: { input: { ticket: 't', pics: 'x' } } }, MANIFEST));
    expect(error.options.errors?.map((e) => e.field)).toEqual(['input.pics']);
  });

  it('refuses parts in order: unknown text part, unknown file part, a second file for a single field (400 naming the part)', () => {
    const part = (uploads: { fields: Record<string, string>; files: UploadedRunFile[] }) =>
      refusal(() => acceptRunBody({ kind: 'multipart', uploads }, MANIFEST));
    expect(part({ fields: { note: 'x' }, files: [] }).options.param).toBe('note');
    expect(part({ fields: {}, files: [upload('cv')] }).options.param).toBe('cv');
    expect(part({ fields: {}, files: [upload('doc'), upload('doc')] }).options.param).toBe('doc');
    const inputAsFile = part({ fields: {}, files: [upload('input')] });
    expect([inputAsFile.options.param, inputAsFile.detail]).toEqual(['input', 'Send input as a text part, not as a file.']);
  });

  it('refuses multipart the upload could not use with the problem it recorded', () => {
    const problem = new ProblemException('invalid_request', 'The multipart/form-data body is malformed.');
    expect(refusal(() => acceptRunBody({ kind: 'multipart', uploads: { fields: { input: '{}' }, files: [], problem } }, MANIFEST))).toBe(problem);
  });

  it('refuses an oversized file with 413 before any type problem', () => {
    const error = refusal(() =>
      acceptRunBody({ kind: 'multipart', uploads: { fields: {}, files: [upload('pics', { detectedType: 'text/plain' }), upload('doc', { size: 101 })] } }, MANIFEST),
    );
    expect([error.code, error.options.param]).toEqual(['payload_too_large', 'doc']);
  });

  it('answers 415 for a body of another type, and takes an empty body as no input', () => {
    expect(refusal(() => acceptRunBody({ kind: 'unsupported', contentType: 'text/plain' }, MANIFEST)).code).toBe('unsupported_media_type');
    expect(acceptRunBody({ kind: 'empty' }, { input: { schema: { type: 'object' } } })).toEqual({ input: {}, metadata: {}, files: [] });
  });
});
