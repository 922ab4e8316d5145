import type { Readable } from 'node:stream';

/** What `stage` learnt while writing a stream: where it is, how big, and its SHA-256 (hex). */
export interface StagedFile {
  key: string;
  size: number;
  sha256: string;
}

/** Raised by `stage` when the stream is longer than `maxBytes`; nothing is kept. */
export class FileTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The file exceeds ${maxBytes} bytes.`);
    this.name = 'FileTooLargeError';
  }
}

/**
 * Where uploaded bytes live. Uploads are first *staged* (written under a temporary key while
 * hashed and counted), then either *committed* to their final key once the run that owns them
 * is stored, or *discarded*. Keys are opaque, slash-separated paths of `[A-Za-z0-9_.-]`
 * segments. The local directory is the default; an S3-compatible store implements the same
 * interface (stage = multipart upload to a staging prefix, commit = copy + delete).
 */
export interface FileStorage {
  /** Writes `source` to a new staging key; rejects with FileTooLargeError past `maxBytes`. */
  stage(source: Readable, options?: { maxBytes?: number }): Promise<StagedFile>;
  /** Moves a staged file to `finalKey` (which must not exist yet). */
  commit(stagingKey: string, finalKey: string): Promise<void>;
  /** Deletes a staged or committed file; a missing key is not an error. */
  discard(key: string): Promise<void>;
  read(key: string): Promise<Buffer>;
  createReadStream(key: string): Readable;
  /**
   * Deletes staged files last written before `olderThan`: what a process that died mid-upload,
   * or any request that lost track of its files, left behind. Returns how many.
   */
  purgeStaged(olderThan: Date): Promise<number>;
}

/** Injection token of the configured FileStorage: `@Inject(FILE_STORAGE) storage: FileStorage`. */
export const FILE_STORAGE = Symbol('FILE_STORAGE');

const KEY = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;

/** Keys are built by the service, never by clients; this guards against a bug building a path outside the store. */
export function assertStorageKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((segment) => segment === '..')) {
    throw new Error(`Invalid storage key: ${JSON.stringify(key)}`);
  }
}

/** The final key of a run's file: grouped by organization and run, so a run's files can be listed or purged together. */
export const runFileKey = (orgId: string, runId: string, fileId: string): string => `runs/${orgId}/${runId}/${fileId}`;
