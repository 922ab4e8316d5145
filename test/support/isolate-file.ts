import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { beforeAll, expect } from 'vitest';
import { RUNS_QUEUE } from '../../src/runs/runs-queue.js';
import { testConfig } from './test-env.js';

/**
 * Each e2e file starts with no run live and no job queued by the files before it (API-only
 * apps queue jobs no worker takes): a worker booted here would take those first, and a sweep
 * would count them. Nor does it inherit their stall-check throttle. The database and Redis stay
 * shared, so counts within a file remain exact.
 */
beforeAll(async () => {
  if (!expect.getState().testPath?.endsWith('.e2e-spec.ts')) return;
  const config = testConfig();
  const queue = new Queue(RUNS_QUEUE, { connection: { url: config.redis.url } });
  const db = new pg.Client({ connectionString: config.database.url });
  const redis = new Redis(config.redis.url);
  try {
    await queue.drain(true);
    // An earlier file's worker (stall interval 30 s) leaves the queue's stall-check throttle key
    // for up to 30 s: a worker of this file with a 2 s interval would check nothing until then,
    // and a run whose worker was killed would wait that long to be resumed.
    await redis.del(queue.toKey('stalled-check'));
    await db.connect();
    await db.query(`UPDATE runs SET status = 'cancelled', completed_at = now() WHERE status IN ('pending', 'running')`);
  } finally {
    await Promise.allSettled([queue.close(), db.end(), redis.quit()]);
  }
});
