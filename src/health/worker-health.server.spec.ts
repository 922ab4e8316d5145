import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '../config/app.config.js';
import type { HealthService } from './health.service.js';
import { WorkerHealthServer } from './worker-health.server.js';

let server: WorkerHealthServer;

async function start(ready: () => Promise<unknown>): Promise<string> {
  const config = { worker: { role: 'worker', healthPort: 0 } } as AppConfig;
  server = new WorkerHealthServer({ ready } as HealthService, config);
  await server.onApplicationBootstrap();
  return `http://127.0.0.1:${server.port}`;
}

describe('WorkerHealthServer', () => {
  // The probe logs the failure on purpose; keep it out of the test output.
  beforeEach(() => void vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined));
  afterEach(() => server.onApplicationShutdown());

  it('answers /ready with what the readiness check returns', async () => {
    const base = await start(async () => ({ status: 'ok', checks: { postgres: 'up', redis: 'up' } }));
    const res = await fetch(`${base}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: { postgres: 'up', redis: 'up' } });
  });

  it('hides an unexpected readiness failure behind 500 internal_error', async () => {
    const base = await start(async () => {
      throw new Error('boom');
    });
    const res = await fetch(`${base}/ready`);
    const text = await res.text();
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(body).toMatchObject({ status: 500, code: 'internal_error', requestId: expect.any(String) });
    expect(text).not.toContain('boom');
    expect(res.headers.get('request-id')).toBe(body.requestId);
  });
});
