import { describe, expect, it } from 'vitest';
import { limitedFetch, publicOnlyLookup } from './model-client.js';

const lookup = (host: string, all = false) =>
  new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
    publicOnlyLookup(host, { all }, (err, address) => resolve({ err, address })),
  );

describe('publicOnlyLookup', () => {
  it('refuses a name that resolves to a private address', async () => {
    const { err } = await lookup('localhost');
    expect(err?.code).toBe('EPRIVATEHOST');
  });

  it('passes public addresses through, in either callback form', async () => {
    expect(await lookup('8.8.8.8')).toEqual({ err: null, address: '8.8.8.8' });
    expect(await lookup('8.8.8.8', true)).toEqual({ err: null, address: [{ address: '8.8.8.8', family: 4 }] });
  });
});

describe('limitedFetch', () => {
  /** A base fetch answering `chunks` as a streamed body, with or without a declared length. */
  const answering = (chunks: string[], declare: boolean) => async () =>
    new Response(
      new ReadableStream({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
          controller.close();
        },
      }),
      { headers: declare ? { 'content-length': String(chunks.join('').length) } : {} },
    );

  it('passes a body within the limit through whole', async () => {
    const res = await limitedFetch(answering(['abc', 'def'], false), 6)('http://model/v1', {});
    expect(await res.text()).toBe('abcdef');
  });

  it('fails before reading a body whose declared length is over the limit', async () => {
    await expect(limitedFetch(answering(['abcdefg'], true), 6)('http://model/v1', {})).rejects.toMatchObject({ code: 'EMODELANSWERTOOLARGE' });
  });

  it('fails a streamed body once it passes the limit', async () => {
    const res = await limitedFetch(answering(['abcd', 'efgh', 'ijkl'], false), 6)('http://model/v1', {});
    await expect(res.text()).rejects.toMatchObject({ code: 'EMODELANSWERTOOLARGE' });
  });
});
