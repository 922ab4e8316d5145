import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/app.config.js';
import type { ApiKeyCredential } from './api-keys.service.js';
import { AUTH_INVALIDATE_CHANNEL, CredentialCache } from './credential-cache.js';

const credential = (id: string, orgId: string): ApiKeyCredential => ({
  id,
  orgId,
  createdByUserId: 'user-1',
  scopes: ['agents:run'],
  creatorRole: 'admin',
  orgApiVersion: '2026-06-11',
});

/** A cache whose subscription is up, publishing into `published` (no Redis needed for the logic). */
function liveCache(published: string[] = []): CredentialCache {
  const redis = { publish: async (channel: string, message: string) => (published.push(`${channel} ${message}`), 1) };
  const cache = new CredentialCache(redis as unknown as Redis, { redis: { url: 'redis://unused' } } as AppConfig);
  (cache as unknown as { live: boolean }).live = true;
  return cache;
}

describe('CredentialCache', () => {
  it('serves nothing while not subscribed to invalidations', () => {
    const cache = new CredentialCache({} as Redis, {} as AppConfig);
    cache.set(cache.ticket(), 'h', credential('k1', 'o1'), null, null);
    expect(cache.get('h')).toBeNull();
  });

  it('serves a fresh entry, and drops it after its TTL or once the key expires', () => {
    const cache = liveCache();
    cache.set(cache.ticket(), 'h', credential('k1', 'o1'), null, null);
    expect(cache.get('h')?.credential.id).toBe('k1');
    expect(cache.get('h', Date.now() + 11_000)).toBeNull();

    cache.set(cache.ticket(), 'e', credential('k2', 'o1'), new Date(Date.now() + 1_000), null);
    expect(cache.get('e')?.credential.id).toBe('k2');
    expect(cache.get('e', Date.now() + 1_000)).toBeNull();
  });

  it('drops by key id or by org, here and on the channel', async () => {
    const published: string[] = [];
    const cache = liveCache(published);
    cache.set(cache.ticket(), 'a', credential('k1', 'o1'), null, null);
    cache.set(cache.ticket(), 'b', credential('k2', 'o1'), null, null);
    cache.set(cache.ticket(), 'c', credential('k3', 'o2'), null, null);

    await cache.invalidate({ keyId: 'k1' });
    expect([cache.get('a'), cache.get('b')?.credential.id, cache.get('c')?.credential.id]).toEqual([null, 'k2', 'k3']);
    await cache.invalidate({ orgId: 'o1' });
    expect([cache.get('b'), cache.get('c')?.credential.id]).toEqual([null, 'k3']);
    expect(published).toEqual([`${AUTH_INVALIDATE_CHANNEL} {"keyId":"k1"}`, `${AUTH_INVALIDATE_CHANNEL} {"orgId":"o1"}`]);
  });

  it('does not cache a lookup that an invalidation overtook', async () => {
    const cache = liveCache();
    const ticket = cache.ticket();
    await cache.invalidate({ keyId: 'k1' });
    cache.set(ticket, 'h', credential('k1', 'o1'), null, null);
    expect(cache.get('h')).toBeNull();
  });
});
