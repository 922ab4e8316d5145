import { describe, expect, it } from 'vitest';
import { baseUrlProblem, isLocalHostname, isPrivateAddress } from './model-url.js';

describe('model base URL policy', () => {
  it.each([
    '127.0.0.1', '127.255.0.9', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '::1', '::', 'fd00::1', 'fc00::abcd', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a00:1', '[::1]', '224.0.0.1',
  ])('treats %s as private', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:808:808'])('treats %s as public', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });

  it('treats local names as local', () => {
    for (const host of ['localhost', 'LOCALHOST', 'api.localhost', 'printer.local', 'ollama', 'db.internal', 'localhost.']) {
      expect(isLocalHostname(host), host).toBe(true);
    }
    expect(isLocalHostname('api.openai.com')).toBe(false);
  });

  it('refuses what is not an http(s) API root', async () => {
    expect(await baseUrlProblem('nope', true)).toBe('not_http_url');
    expect(await baseUrlProblem('ftp://example.com', true)).toBe('not_http_url');
    expect(await baseUrlProblem('javascript:alert(1)', true)).toBe('not_http_url');
    expect(await baseUrlProblem('http://u:p@example.com/v1', true)).toBe('has_credentials');
    expect(await baseUrlProblem('http://example.com/v1?x', true)).toBe('has_query_or_fragment');
    expect(await baseUrlProblem('http://example.com/v1?', true)).toBe('has_query_or_fragment');
    expect(await baseUrlProblem('http://example.com/v1#a', true)).toBe('has_query_or_fragment');
  });

  it('allows private hosts only when configured to', async () => {
    for (const url of ['http://127.0.0.1:11434/v1', 'http://localhost/v1', 'http://[::1]/v1', 'http://2130706433/v1', 'http://0x7f.0.0.1/v1']) {
      expect(await baseUrlProblem(url, true)).toBeNull();
      expect(await baseUrlProblem(url, false), url).toBe('private_host');
    }
    expect(await baseUrlProblem('https://8.8.8.8/v1', false)).toBeNull();
  });
});
