import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertStorageKey, FileTooLargeError, type FileStorage, type StagedFile } from './file-storage.js';

const STAGING = 'staging';

/** Counts and hashes what flows through, and stops the flow past `maxBytes`. */
class Measure extends Transform {
  readonly hash = createHash('sha256');
  size = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return done(new FileTooLargeError(this.maxBytes));
    this.hash.update(chunk);
    done(null, chunk);
  }
}

/**
 * FileStorage on a local directory (`FILE_STORAGE_DIR`). Staged files sit under `staging/`, on
 * the same filesystem as final keys, so commit is an atomic rename.
 */
export class LocalFileStorage implements FileStorage {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, STAGING), { recursive: true });
  }

  private path(key: string): string {
    assertStorageKey(key);
    return join(this.root, key);
  }

  async stage(source: Readable, options: { maxBytes?: number } = {}): Promise<StagedFile> {
    const key = `${STAGING}/${randomUUID()}`;
    const path = this.path(key);
    const measure = new Measure(options.maxBytes ?? Number.POSITIVE_INFINITY);
    try {
      await pipeline(source, measure, createWriteStream(path, { flags: 'wx' }));
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return { key, size: measure.size, sha256: measure.hash.digest('hex') };
  }

  async commit(stagingKey: string, finalKey: string): Promise<void> {
    const target = this.path(finalKey);
    await mkdir(dirname(target), { recursive: true });
    await rename(this.path(stagingKey), target);
  }

  async discard(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  async purgeStaged(olderThan: Date): Promise<number> {
    let purged = 0;
    for (const name of await readdir(join(this.root, STAGING))) {
      const key = `${STAGING}/${name}`;
      const stats = await stat(this.path(key)).catch(() => null);
      if (!stats?.isFile() || stats.mtime >= olderThan) continue;
      await this.discard(key);
      purged++;
    }
    return purged;
  }

  read(key: string): Promise<Buffer> {
    return readFile(this.path(key));
  }

  createReadStream(key: string): Readable {
    return createReadStream(this.path(key));
  }
}
