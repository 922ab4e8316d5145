import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { requestFingerprint, type UploadsDigestSource } from './fingerprint.js';

function req(overrides: Record<string, unknown> = {}): FastifyRequest {
  return {
    method: 'POST',
    url: '/api/agents/@acme/triage/run',
    headers: {},
    body: undefined,
    ...overrides,
  } as unknown as FastifyRequest;
}

const file = (field: string, filename: string, sha: string, size = 3) => ({ field, filename, size, sha256: sha });

describe('requestFingerprint', () => {
  const base = requestFingerprint(req({ body: { input: { a: 1, b: 'x' }, metadata: { k: 'v' } } }));

  it('ignores JSON key order and whitespace (the parsed body counts)', () => {
    const reordered = JSON.parse('{ "metadata": {"k":"v"},\n "input": { "b": "x", "a": 1 } }');
    expect(requestFingerprint(req({ body: reordered }))).toBe(base);
  });

  it('changes with the body, the method, the query and Appstrate-User', () => {
    expect(requestFingerprint(req({ body: { input: { a: 2, b: 'x' }, metadata: { k: 'v' } } }))).not.toBe(base);
    const body = { input: { a: 1, b: 'x' }, metadata: { k: 'v' } };
    expect(requestFingerprint(req({ body, method: 'PUT' }))).not.toBe(base);
    expect(requestFingerprint(req({ body, url: '/api/agents/@acme/triage/run?version=1.0.0' }))).not.toBe(base);
    expect(requestFingerprint(req({ body, headers: { 'appstrate-user': 'eu_1' } }))).not.toBe(base);
    expect(requestFingerprint(req({ body, headers: { 'appstrate-user': 'eu_1' } }))).not.toBe(
      requestFingerprint(req({ body, headers: { 'appstrate-user': 'eu_2' } })),
    );
  });

  it('decodes %40 in the path and ignores Appstrate-Version', () => {
    const body = { input: { a: 1, b: 'x' }, metadata: { k: 'v' } };
    expect(requestFingerprint(req({ body, url: '/api/agents/%40acme/triage/run' }))).toBe(base);
    expect(requestFingerprint(req({ body, headers: { 'appstrate-version': '2026-06-11' } }))).toBe(base);
  });

  it('tells an empty body, {} and an unparseable body apart; the latter by its bytes', () => {
    const none = requestFingerprint(req());
    const empty = requestFingerprint(req({ body: {} }));
    const bad1 = requestFingerprint(req({ rawBody: Buffer.from('{bad'), bodyError: new Error('x') } as never));
    const bad2 = requestFingerprint(req({ rawBody: Buffer.from('{bad '), bodyError: new Error('x') } as never));
    expect(new Set([none, empty, bad1, bad2]).size).toBe(4);
    expect(requestFingerprint(req({ rawBody: Buffer.from('{bad'), bodyError: new Error('y') } as never))).toBe(bad1);
  });

  it('tells bodies of other types from no body, from each other and by media type (parameters aside)', () => {
    const other = (type: string, bytes: string) => requestFingerprint(req({ headers: { 'content-type': type }, rawBody: Buffer.from(bytes) }));
    const none = requestFingerprint(req());
    const text = other('text/plain', 'x');
    expect(new Set([none, text, other('text/plain', 'y'), other('application/xml', 'x')]).size).toBe(4);
    expect(other('Text/Plain; charset=utf-8', 'x')).toBe(text);
    // An empty body of another type (sent chunked) is still a body; a blank JSON body is none.
    expect(other('text/plain', '')).not.toBe(none);
    expect(other('application/json', ' \n')).toBe(none);
  });

  it('digests multipart text fields by name and files by field, name, size and sha256', () => {
    const uploads = (fields: UploadsDigestSource['fields'], files: UploadsDigestSource['files']) =>
      requestFingerprint(req({ uploads: { fields, files } }));
    const one = uploads({ input: '{"a":1}', modelId: 'm' }, [file('doc', 'a.pdf', 'aa'), file('img', 'b.png', 'bb')]);
    // Field order and the interleaving of different file fields do not matter.
    expect(uploads({ modelId: 'm', input: '{"a":1}' }, [file('img', 'b.png', 'bb'), file('doc', 'a.pdf', 'aa')])).toBe(one);
    expect(uploads({ input: '{"a":2}', modelId: 'm' }, [file('doc', 'a.pdf', 'aa'), file('img', 'b.png', 'bb')])).not.toBe(one);
    expect(uploads({ input: '{"a":1}', modelId: 'm' }, [file('doc', 'c.pdf', 'aa'), file('img', 'b.png', 'bb')])).not.toBe(one);
    expect(uploads({ input: '{"a":1}', modelId: 'm' }, [file('doc', 'a.pdf', 'ab'), file('img', 'b.png', 'bb')])).not.toBe(one);
    expect(uploads({ input: '{"a":1}', modelId: 'm' }, [file('doc', 'a.pdf', 'aa', 4), file('img', 'b.png', 'bb')])).not.toBe(one);
    // Within one (array) field, the order of the files is part of the input.
    const ordered = uploads({}, [file('docs', 'a.pdf', 'aa'), file('docs', 'b.pdf', 'bb')]);
    expect(uploads({}, [file('docs', 'b.pdf', 'bb'), file('docs', 'a.pdf', 'aa')])).not.toBe(ordered);
    // Unusable multipart is told apart by what went wrong, too.
    const bad = requestFingerprint(req({ uploads: { fields: {}, files: [], problem: { detail: 'malformed' } } }));
    expect(bad).not.toBe(uploads({}, []));
    expect(requestFingerprint(req({ uploads: { fields: {}, files: [], problem: { detail: 'malformed' } } }))).toBe(bad);
    // A multipart request never collides with a JSON one.
    expect(uploads({}, [])).not.toBe(requestFingerprint(req({ body: {} })));
  });
});
