import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './app.config.js';

const BASE = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x',
  REDIS_URL: 'redis://127.0.0.1:6379',
  BETTER_AUTH_SECRET: 's'.repeat(32),
  MODEL_SECRETS_KEY: 'ab'.repeat(32),
};

/** The one line the process prints before exiting, or null when the config loads. */
function failure(env: Record<string, string | undefined>): string | null {
  try {
    loadConfig(env);
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

describe('loadConfig', () => {
  it('loads the required settings with documented defaults', () => {
    const config = loadConfig(BASE);
    expect(config.http.port).toBe(3000);
    expect(config.apiVersions.default).toBe('2026-03-21');
    expect(config.runs).toMatchObject({ rateLimitPerMinute: 20, orgMaxConcurrentRuns: 50, idempotencyLockTimeoutSeconds: 60, eventsKeepAliveSeconds: 15 });
    expect(config.worker).toMatchObject({ role: 'all', healthPort: null });
    expect(config.shutdownTimeoutSeconds).toBe(20);
    expect(config.models).toEqual({ allowPrivateUrls: true, maxAnswerBytes: 4 * 1024 * 1024, serverDefault: null });
    expect(config.secrets.modelKey).toHaveLength(32);
  });

  it.each([
    ['DATABASE_URL', undefined, 'Configuration error: DATABASE_URL is not set (see .env.example)'],
    ['REDIS_URL', '', 'Configuration error: REDIS_URL is not set (see .env.example)'],
    ['BETTER_AUTH_SECRET', undefined, 'Configuration error: BETTER_AUTH_SECRET is not set (see .env.example)'],
    ['MODEL_SECRETS_KEY', undefined, 'Configuration error: MODEL_SECRETS_KEY is not set (see .env.example)'],
  ])('refuses a missing %s with one line naming it', (name, value, message) => {
    expect(failure({ ...BASE, [name]: value })).toBe(message);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['BETTER_AUTH_SECRET', 'short'],
    ['MODEL_SECRETS_KEY', 'not-hex'],
    ['MODEL_SECRETS_KEY', 'ab'.repeat(16)],
    ['RUN_RATE_LIMIT_PER_MINUTE', '0'],
    ['RUN_RATE_LIMIT_PER_MINUTE', '2.5'],
    ['ORG_MAX_CONCURRENT_RUNS', 'many'],
    ['PROCESS_ROLE', 'both'],
    ['WORKER_CONCURRENCY', '-1'],
    ['DEFAULT_API_VERSION', 'yesterday'],
    ['DEFAULT_API_VERSION', '2020-01-01'],
    ['IDEMPOTENCY_LOCK_TIMEOUT_SECONDS', 'sixty'],
    ['MAX_UPLOAD_BYTES', 'lots'],
    ['SSE_KEEP_ALIVE_SECONDS', '0'],
    ['WORKER_HEALTH_PORT', '70000'],
    ['WORKER_HEALTH_PORT', 'probe'],
    ['SHUTDOWN_TIMEOUT_SECONDS', '0'],
    ['SHUTDOWN_TIMEOUT_SECONDS', '601'],
    ['ALLOW_PRIVATE_MODEL_URLS', 'maybe'],
    ['MODEL_MAX_ANSWER_BYTES', '100'],
    ['MODEL_MAX_ANSWER_BYTES', 'lots'],
    ['MIGRATIONS_RUN', 'yes please'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['DEFAULT_MODEL_BASE_URL', 'ftp://x'],
  ])('refuses a malformed %s (%s) with one line naming it', (name, value) => {
    const message = failure({ ...BASE, [name]: value });
    expect(message).toMatch(new RegExp(`^Configuration error: ${name} `));
    expect(message).not.toContain('\n');
    // The value itself (possibly a secret) is not printed.
    expect(message).not.toContain(value);
  });

  it('reads booleans written true/false/1/0 in any case', () => {
    expect(loadConfig({ ...BASE, ALLOW_PRIVATE_MODEL_URLS: 'FALSE' }).models.allowPrivateUrls).toBe(false);
    expect(loadConfig({ ...BASE, ALLOW_PRIVATE_MODEL_URLS: '0' }).models.allowPrivateUrls).toBe(false);
    expect(loadConfig({ ...BASE, ALLOW_PRIVATE_MODEL_URLS: 'true' }).models.allowPrivateUrls).toBe(true);
    expect(loadConfig({ ...BASE, MIGRATIONS_RUN: '1' }).database.migrationsRun).toBe(true);
  });

  it('reads the server default model only when both URL and name are set', () => {
    const config = loadConfig({ ...BASE, DEFAULT_MODEL_BASE_URL: 'http://127.0.0.1:11434/v1', DEFAULT_MODEL_NAME: 'llama3' });
    expect(config.models.serverDefault).toEqual({ baseUrl: 'http://127.0.0.1:11434/v1', apiKey: '', model: 'llama3' });
    expect(failure({ ...BASE, DEFAULT_MODEL_BASE_URL: 'http://127.0.0.1:11434/v1' })).toMatch(/^Configuration error: DEFAULT_MODEL_NAME is not set/);
    expect(failure({ ...BASE, DEFAULT_MODEL_NAME: 'llama3' })).toMatch(/^Configuration error: DEFAULT_MODEL_BASE_URL is not set/);
  });

  it('accepts the settings operators rely on', () => {
    const config = loadConfig({
      ...BASE,
      PORT: '8080',
      RUN_RATE_LIMIT_PER_MINUTE: '5',
      ORG_MAX_CONCURRENT_RUNS: '2',
      PROCESS_ROLE: 'worker',
      WORKER_CONCURRENCY: '3',
      DEFAULT_API_VERSION: '2026-06-11',
      IDEMPOTENCY_LOCK_TIMEOUT_SECONDS: '5',
      FILE_STORAGE_DIR: '/tmp/files',
      MAX_UPLOAD_BYTES: '1024',
      SSE_KEEP_ALIVE_SECONDS: '2',
      WORKER_HEALTH_PORT: '3001',
      SHUTDOWN_TIMEOUT_SECONDS: '45',
    });
    expect(config.http.port).toBe(8080);
    expect(config.runs).toMatchObject({ rateLimitPerMinute: 5, orgMaxConcurrentRuns: 2, idempotencyLockTimeoutSeconds: 5, maxUploadBytes: 1024, eventsKeepAliveSeconds: 2 });
    expect(config.worker).toMatchObject({ role: 'worker', concurrency: 3, healthPort: 3001 });
    expect(config.shutdownTimeoutSeconds).toBe(45);
    expect(config.apiVersions.default).toBe('2026-06-11');
    expect(config.files.storageDir).toBe('/tmp/files');
  });
});
