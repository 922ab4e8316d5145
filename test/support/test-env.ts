import { loadConfig, type AppConfig } from '../../src/config/app.config.js';

/**
 * The environment e2e tests boot the app with. TEST_DATABASE_URL / TEST_REDIS_URL point a run
 * at other databases (e.g. to run two suites side by side); the defaults suit this machine.
 */
export const TEST_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/agent_run_api_test',
  REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/1',
  PUBLIC_URL: 'http://127.0.0.1:3000',
  BETTER_AUTH_SECRET: 'test-secret-test-secret-test-secret-0123',
  MODEL_SECRETS_KEY: 'aa'.repeat(32),
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  MIGRATIONS_RUN: 'false',
};

export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  return loadConfig({ ...TEST_ENV, ...overrides });
}
