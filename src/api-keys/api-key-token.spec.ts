import { describe, expect, it } from 'vitest';
import { API_KEY_PATTERN, generateApiKey, hashApiKey, hashesEqual } from './api-key-token.js';

describe('api key tokens', () => {
  it('generates ask_ + 48 lowercase hex, distinct each time', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.token).toMatch(API_KEY_PATTERN);
    expect(a.token).not.toBe(b.token);
    expect(a.prefix).toBe(a.token.slice(0, 12));
  });

  it('stores only the SHA-256 of the token', () => {
    const key = generateApiKey();
    expect(key.hash).toBe(hashApiKey(key.token));
    expect(key.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(key.hash).not.toContain(key.token.slice(4));
  });

  it('compares digests in constant time and refuses mismatches', () => {
    const key = generateApiKey();
    expect(hashesEqual(key.hash, hashApiKey(key.token))).toBe(true);
    expect(hashesEqual(key.hash, generateApiKey().hash)).toBe(false);
    expect(hashesEqual(key.hash, key.hash.slice(0, 10))).toBe(false);
    expect(hashesEqual('', '')).toBe(false);
  });
});
