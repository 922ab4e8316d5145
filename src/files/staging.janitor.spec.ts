import { mkdtempSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalFileStorage } from './local-file-storage.js';
import { STAGED_MAX_AGE_MS, StagingJanitor } from './staging.janitor.js';

describe('StagingJanitor', () => {
  it('deletes staged files older than an hour, and nothing else', async () => {
    const storage = new LocalFileStorage(mkdtempSync(join(tmpdir(), 'staging-janitor-')));
    await storage.init();
    const stage = async () => (await storage.stage(Readable.from([Buffer.from('bytes')]))).key;
    const [left, fresh, committed] = [await stage(), await stage(), await stage()];
    await storage.commit(committed, 'runs/org/run/file');
    const now = Date.now();
    const old = new Date(now - STAGED_MAX_AGE_MS - 60_000);
    utimesSync(join(storage.root, left), old, old);
    utimesSync(join(storage.root, 'runs/org/run/file'), old, old);

    expect(await new StagingJanitor(storage).purge(now)).toBe(1);
    expect(readdirSync(join(storage.root, 'staging'))).toEqual([fresh.slice('staging/'.length)]);
    expect((await storage.read('runs/org/run/file')).toString()).toBe('bytes');
    expect(await new StagingJanitor(storage).purge(now)).toBe(0);
  });
});
