import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentRunCache, type AgentForRun } from './agent-run-cache.js';

const path = (name: string) => ({ scope: '@acme', name });
const entry = (rowVersion: string) => ({ rowVersion }) as AgentForRun;

describe('AgentRunCache', () => {
  afterEach(() => vi.useRealTimers());

  it('keeps entries per organization', () => {
    const cache = new AgentRunCache();
    cache.set('org-a', path('bot'), entry('1'));
    expect(cache.get('org-a', path('bot'))?.rowVersion).toBe('1');
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
});
