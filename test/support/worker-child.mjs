// Launches test/support/worker-process.ts in a child Node process. Node 20 cannot run
// TypeScript, so the module is loaded through Vite's module runner: the same transform (Oxc,
// with decorator metadata) that Vitest applies to the test files.
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));
await runnerImport(fileURLToPath(new URL('./worker-process.ts', import.meta.url)), {
  root,
  configFile: false,
  logLevel: 'error',
});
