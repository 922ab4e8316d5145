import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentRunCache, type AgentForRun } from './agent-run-cache.js';

const path = (name: string) => ({ scope: '@acme', name });
const entry = (readVersion: string, prompt = 'p') => ({ readVersion, agent: { manifest: {}, prompt } }) as unknown as AgentForRun;

describe('AgentRunCache', () => {
  afterEach(() => vi.useRealTimers());

  it('keeps entries per organization', () => {
    const cache = new AgentRunCache();
    cache.set('org-a', path('bot'), entry('1'));
    expect(cache.get('org-a', path('bot'))?.readVersion).toBe('1');
    expect(cache.get('org-b', path('bot'))).toBeUndefined();
    cache.delete('org-a', path('bot'));
    expect(cache.get('org-a', path('bot'))).toBeUndefined();
  });

  it('drops an entry unused for a minute', () => {
    vi.useFakeTimers();
    const cache = new AgentRunCache();
    cache.set('org', path('bot'), entry('1'));
    vi.advanceTimersByTime(59_000);
    expect(cache.get('org', path('bot'))).toBeDefined(); // a use keeps it
    vi.advanceTimersByTime(59_000);
    expect(cache.get('org', path('bot'))).toBeDefined();
    vi.advanceTimersByTime(61_000);
    expect(cache.get('org', path('bot'))).toBeUndefined();
  });

  it('holds at most 10,000 entries, evicting the least recently used', () => {
    const cache = new AgentRunCache();
    for (let i = 0; i < 10_000; i++) cache.set('org', path(`a${i}`), entry(String(i)));
    cache.get('org', path('a0')); // used: now the most recent
    cache.set('org', path('new'), entry('new'));
    expect(cache.get('org', path('a0'))).toBeDefined();
    expect(cache.get('org', path('a1'))).toBeUndefined();
    expect(cache.get('org', path('new'))).toBeDefined();
  });

  it('keeps no agent over 256 KiB, and at most 32 MiB in all', () => {
    const cache = new AgentRunCache();
    cache.set('org', path('huge'), entry('1', 'x'.repeat(300 * 1024)));
    expect(cache.get('org', path('huge'))).toBeUndefined();
    const big = 'x'.repeat(200 * 1024);
    for (let i = 0; i < 200; i++) cache.set('org', path(`b${i}`), entry(String(i), big));
    expect(cache.get('org', path('b0'))).toBeUndefined(); // evicted: 200 × 200 KiB > 32 MiB
    expect(cache.get('org', path('b199'))).toBeDefined();
    const kept = Array.from({ length: 200 }, (_, i) => cache.get('org', path(`b${i}`))).filter(Boolean).length;
    expect(kept).toBeLessThanOrEqual(Math.floor((32 * 1024 * 1024) / (200 * 1024 + 2)));
    expect(kept).toBeGreaterThan(100);
  });
});
