import { describe, expect, it } from 'vitest';
import { buildMessages, fileTreatment, parseJsonAnswer, schemaName, type PromptFile } from './prompt-builder.js';

const file = (over: Partial<PromptFile>): PromptFile => ({ id: 'file_1', field: 'doc', filename: 'a.txt', contentType: 'text/plain', size: 5, ...over });

describe('fileTreatment', () => {
  it('inlines text-like types, sends common images, describes the rest', () => {
    expect(fileTreatment(file({ contentType: 'text/markdown; charset=utf-8' }))).toBe('text');
    expect(fileTreatment(file({ contentType: 'application/json' }))).toBe('text');
    expect(fileTreatment(file({ contentType: 'application/vnd.api+json' }))).toBe('text');
    expect(fileTreatment(file({ contentType: 'image/PNG' }))).toBe('image');
    expect(fileTreatment(file({ contentType: 'image/webp' }))).toBe('image');
    expect(fileTreatment(file({ contentType: 'image/tiff' }))).toBe('describe');
    expect(fileTreatment(file({ contentType: 'application/pdf' }))).toBe('describe');
    expect(fileTreatment(file({ contentType: 'image/png', size: 30 }), { maxTextFileBytes: 10, maxImageBytes: 20 })).toBe('describe');
  });
});

describe('buildMessages', () => {
  it('sends the prompt as system message and the input as a plain user message when there are no files', async () => {
    const messages = await buildMessages({ prompt: 'Be brief.', input: { a: 1 }, files: [], readFile: () => Promise.reject(new Error('unused')) });
    expect(messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: '{\n  "a": 1\n}' },
    ]);
  });

  it('cuts a long text file at the cap and says so, reads images as data URLs, never reads described files', async () => {
    const read: string[] = [];
    const bytes: Record<string, Buffer> = { t: Buffer.from('abcdefghij'), i: Buffer.from([1, 2, 3]) };
    const messages = await buildMessages({
      prompt: 'p',
      input: {},
      files: [
        file({ id: 't', filename: 'long.txt', size: 10 }),
        file({ id: 'i', filename: 'x.gif', contentType: 'image/gif', size: 3 }),
        file({ id: 'b', filename: 'x.zip', contentType: 'application/zip', size: 99 }),
      ],
      readFile: async (f) => {
        read.push(f.id);
        return bytes[f.id]!;
      },
      limits: { maxTextFileBytes: 4, maxImageBytes: 100 },
    });
    expect(read).toEqual(['t', 'i']);
    const parts = messages[1]!.content as Array<Record<string, any>>;
    expect(parts[0]).toEqual({ type: 'text', text: '{}' });
    expect(parts[1]!.text).toBe('File "long.txt" (field "doc", file://t, text/plain, 10 bytes) (truncated to its first 4 bytes):\nabcd');
    expect(parts[2]).toEqual({ type: 'image_url', image_url: { url: 'data:image/gif;base64,AQID' } });
    expect(parts[3]!.text).toBe('Attached file "x.zip" (field "doc", file://b, application/zip, 99 bytes); its content is not included.');
  });
});

describe('parseJsonAnswer', () => {
  it('parses JSON, tolerates one surrounding code fence, and refuses prose', () => {
    expect(parseJsonAnswer(' {"a":1} ')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonAnswer('```json\n{"a":[1,2]}\n```')).toEqual({ ok: true, value: { a: [1, 2] } });
    expect(parseJsonAnswer('```\n"text"\n```')).toEqual({ ok: true, value: 'text' });
    expect(parseJsonAnswer('The answer is {"a":1}')).toEqual({ ok: false });
    expect(parseJsonAnswer('')).toEqual({ ok: false });
  });
});

describe('schemaName', () => {
  it('derives a provider-safe name of at most 64 characters', () => {
    expect(schemaName('@acme', 'triage')).toBe('acme_triage_output');
    expect(schemaName('@a', 'x'.repeat(100))).toMatch(/^[a-zA-Z0-9_-]{64}$/);
  });
});
