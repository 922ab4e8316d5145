import { describe, expect, it } from 'vitest';
import { publicOnlyLookup } from './model-client.js';

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
