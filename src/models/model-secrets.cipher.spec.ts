import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ModelSecretsCipher } from './model-secrets.cipher.js';

describe('ModelSecretsCipher', () => {
  const cipher = new ModelSecretsCipher(randomBytes(32));

  it('round-trips a secret and never stores the plaintext', () => {
    const sealed = cipher.encrypt('sk-very-secret');
    expect(sealed).not.toContain('sk-very-secret');
    expect(sealed.startsWith('v1:')).toBe(true);
    expect(cipher.decrypt(sealed)).toBe('sk-very-secret');
  });

  it('uses a fresh IV for every value', () => {
    expect(cipher.encrypt('same')).not.toBe(cipher.encrypt('same'));
  });

  it('refuses a tampered value', () => {
    const [v, iv, tag, body] = cipher.encrypt('secret-value').split(':');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => cipher.decrypt([v, iv, tag, flipped.toString('base64url')].join(':'))).toThrow();
  });

  it('refuses a value sealed with another key', () => {
    const other = new ModelSecretsCipher(randomBytes(32));
    expect(() => other.decrypt(cipher.encrypt('secret'))).toThrow();
  });

  it('refuses malformed values and a key of the wrong size', () => {
    expect(() => cipher.decrypt('plaintext')).toThrow();
    expect(() => cipher.decrypt('v1:a:b')).toThrow();
    expect(() => new ModelSecretsCipher(randomBytes(16))).toThrow();
  });

  it('handles empty and unicode secrets', () => {
    expect(cipher.decrypt(cipher.encrypt(''))).toBe('');
    expect(cipher.decrypt(cipher.encrypt('clé-🔑'))).toBe('clé-🔑');
  });
});
