import { Redis } from 'ioredis';
import pg from 'pg';
import type { AppConfig } from '../config/app.config.js';

/** A URL safe to print: the password, if any, is masked. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

const startupError = (message: string) => Object.assign(new Error(message), { startup: true });

/** Fails fast, naming the service and where it was looked for, when PostgreSQL or Redis is unreachable. */
export async function checkDependencies(config: AppConfig): Promise<void> {
  const client = new pg.Client({ connectionString: config.database.url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    // A server that answers "no such database" is reachable; the migration step creates it.
    if ((err as { code?: string }).code === '3D000') return checkRedis(config);
    throw startupError(`PostgreSQL is unreachable at ${redactUrl(config.database.url)}: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  await checkRedis(config);
}

async function checkRedis(config: AppConfig): Promise<void> {
  const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw startupError(`Redis is unreachable at ${redactUrl(config.redis.url)}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
}
