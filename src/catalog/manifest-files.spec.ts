import { describe, expect, it } from 'vitest';
import type { AgentManifest } from './manifest.js';
import { acceptsType, getFileFields, mimeTypeForExtension, parseAcceptList } from './manifest-files.js';

const manifest: AgentManifest = {
  input: {
    schema: {
      type: 'object',
      properties: {
        ticket: { type: 'string' },
        link: { type: 'string', format: 'uri' },
        attachment: { type: 'string', format: 'uri', contentMediaType: 'application/pdf' },
        photos: { type: 'array', maxItems: 3, items: { type: 'string', format: 'uri', contentMediaType: 'image/*' } },
        anything: { type: 'string', format: 'uri', contentMediaType: 'application/octet-stream' },
        nested: { type: 'object', properties: { deep: { type: 'string', format: 'uri', contentMediaType: 'text/plain' } } },
      },
      required: ['ticket', 'attachment'],
    },
    fileConstraints: { attachment: { accept: '.PDF, image/png', maxSize: 1024 } },
  },
};

describe('getFileFields', () => {
  const fields = getFileFields(manifest);

  it('finds top-level uri + contentMediaType properties and arrays of them, nothing else', () => {
    expect([...fields.keys()].sort()).toEqual(['anything', 'attachment', 'photos']);
  });

  it('takes accept from fileConstraints when present, else from contentMediaType', () => {
    expect(fields.get('attachment')).toEqual({ field: 'attachment', array: false, required: true, accept: ['.pdf', 'image/png'], maxSize: 1024 });
    expect(fields.get('photos')).toEqual({ field: 'photos', array: true, maxItems: 3, required: false, accept: ['image/*'] });
  });

  it('copes with manifests without input, schema or properties', () => {
    expect(getFileFields({}).size).toBe(0);
    expect(getFileFields({ input: { schema: true } }).size).toBe(0);
    expect(getFileFields({ input: { schema: { type: 'object' } } }).size).toBe(0);
  });
});

describe('acceptsType', () => {
  const field = (accept: string) => ({ accept: parseAcceptList(accept) });
  it.each([
    ['.pdf', 'application/pdf', true],
    ['.pdf', 'image/png', false],
    ['.jpg', 'image/jpeg', true],
    ['image/*', 'image/png', true],
    ['image/*', 'imagex/png', false],
    ['image/*', 'application/pdf', false],
    ['image/png', 'IMAGE/PNG; charset=binary', true],
    ['*/*', 'application/x-whatever', true],
    ['application/octet-stream', 'video/mp4', true],
    ['application/pdf,.txt', 'text/plain', true],
    ['application/pdf,.txt', 'text/csv', false],
  ])('%s accepts %s: %s', (accept, type, expected) => {
    expect(acceptsType(field(accept), type)).toBe(expected);
  });

  it('maps extensions to MIME types', () => {
    expect(mimeTypeForExtension('.pdf')).toBe('application/pdf');
    expect(mimeTypeForExtension('png')).toBe('image/png');
    expect(mimeTypeForExtension('.nope-not-real')).toBeNull();
  });
});
