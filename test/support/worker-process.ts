import { startApp } from './app.js';

/**
 * Body of a worker child process (see worker-child.mjs): boots the real app as a worker
 * (PROCESS_ROLE=worker, plus the JSON overrides in WORKER_ENV_OVERRIDES) and tells the parent
 * over IPC when it is ready. It runs until killed.
 */
const overrides = JSON.parse(process.env.WORKER_ENV_OVERRIDES ?? '{}') as Record<string, string>;
const t = await startApp({ ...overrides, PROCESS_ROLE: 'worker' });
process.send?.({ ready: true, pid: process.pid });
process.on('SIGTERM', () => void t.close().then(() => process.exit(0)));
