import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/app.config.js';
import { InjectConfig } from '../config/config.module.js';
import { createRedis, InjectRedis } from '../redis/redis.module.js';
import type { ApiKeyCredential } from './api-keys.service.js';

/** Every process drops the named entries when a message arrives here. */
export const AUTH_INVALIDATE_CHANNEL = 'auth:invalidate';

/** What changed: one key (revoked), or anything an org's keys depend on (members, api version). */
export type CredentialInvalidation = { keyId: string } | { orgId: string };

/** Short: the cache only saves the lookup under load; invalidation, not expiry, keeps it correct. */
const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  credential: ApiKeyCredential;
  /** The key's own expiry (ms), checked against the clock on every use. */
  expiresAt: number | null;
  lastUsedAt: number | null;
  cachedAt: number;
}

/**
 * In-process LRU of positive API-key lookups, keyed by the token's hash. Changes that affect
 * authentication (revocation, a member's role or removal, the org's API version) are dropped
 * here at once and published on {@link AUTH_INVALIDATE_CHANNEL} so every other process drops
 * them too. While this process is not subscribed (Redis away), the cache is bypassed: it could
 * miss an invalidation.
 */
@Injectable()
export class CredentialCache implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(CredentialCache.name);
  private readonly entries = new Map<string, Entry>();
  private subscriber: Redis | null = null;
  private live = false;
  /** Bumped by every invalidation: a lookup that raced one is not cached. */
  private generation = 0;

  constructor(
    @InjectRedis() private readonly redis: Redis,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const sub = createRedis(this.config.redis.url);
    this.subscriber = sub;
    sub.on('message', (channel: string, message: string) => {
      if (channel === AUTH_INVALIDATE_CHANNEL) this.applyMessage(message);
    });
    // Messages may have been missed while disconnected: start afresh and stay off until resubscribed.
    sub.on('close', () => this.goOffline());
    sub.on('error', () => this.goOffline());
    sub.on('ready', () => {
      this.goOffline();
      void this.subscribe(sub);
    });
    await this.subscribe(sub);
  }

  /** Online once Redis confirms the subscription (again after every reconnect). */
  private async subscribe(sub: Redis): Promise<void> {
    try {
      await sub.subscribe(AUTH_INVALIDATE_CHANNEL);
      if (sub.status === 'ready') this.goOnline();
    } catch (err) {
      this.logger.warn({ msg: 'auth invalidation channel unavailable; API-key cache bypassed', error: String(err) });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.goOffline();
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  /** The cached credential for this token hash, if still fresh and not expired. */
  get(hash: string, now = Date.now()): Entry | null {
    if (!this.live) return null;
    const entry = this.entries.get(hash);
    if (!entry) return null;
    if (now - entry.cachedAt >= TTL_MS || (entry.expiresAt !== null && entry.expiresAt <= now)) {
      this.entries.delete(hash);
      return null;
    }
    // Map order is insertion order: re-inserting marks it most recently used.
    this.entries.delete(hash);
    this.entries.set(hash, entry);
    return entry;
  }

  /** A token for {@link set}: a lookup that straddles an invalidation must not be cached. */
  ticket(): number {
    return this.generation;
  }

  set(ticket: number, hash: string, credential: ApiKeyCredential, expiresAt: Date | null, lastUsedAt: Date | null): void {
    if (!this.live || ticket !== this.generation) return;
    this.entries.set(hash, {
      credential,
      expiresAt: expiresAt ? expiresAt.getTime() : null,
      lastUsedAt: lastUsedAt ? lastUsedAt.getTime() : null,
      cachedAt: Date.now(),
    });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Drops the entries here, then tells every other process. Call after the change is committed. */
  async invalidate(change: CredentialInvalidation): Promise<void> {
    this.apply(change);
    await this.redis.publish(AUTH_INVALIDATE_CHANNEL, JSON.stringify(change)).catch((err: unknown) => {
      // Other processes lost their subscription too, so they bypass their caches.
      this.logger.warn({ msg: 'could not publish auth invalidation', error: String(err) });
    });
  }

  private applyMessage(message: string): void {
    try {
      this.apply(JSON.parse(message) as CredentialInvalidation);
    } catch {
      this.clear();
    }
  }

  private apply(change: CredentialInvalidation): void {
    this.generation++;
    const keyId = 'keyId' in change ? change.keyId : null;
    const orgId = 'orgId' in change ? change.orgId : null;
    if (!keyId && !orgId) return this.clear();
    for (const [hash, entry] of this.entries) {
      if (entry.credential.id === keyId || entry.credential.orgId === orgId) this.entries.delete(hash);
    }
  }

  private clear(): void {
    this.generation++;
    this.entries.clear();
  }

  private goOffline(): void {
    this.live = false;
    this.clear();
  }

  private goOnline(): void {
    this.clear();
    this.live = true;
  }
}
