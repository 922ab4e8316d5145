import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { FILE_STORAGE, type FileStorage } from './file-storage.js';
import { repeat } from '../common/repeat.js';

const PURGE_EVERY_MS = 10 * 60 * 1000;
/** Far longer than any upload can take (a request gets 5 minutes), so no live upload is touched. */
export const STAGED_MAX_AGE_MS = 60 * 60 * 1000;

/**
 * Deletes staged uploads older than an hour, at start and every few minutes. Requests discard
 * their own staged files; this catches what a crashed process, or a request that lost track of
 * its files, left behind.
 */
@Injectable()
export class StagingJanitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StagingJanitor.name);
  private timer?: NodeJS.Timeout;

  constructor(@Inject(FILE_STORAGE) private readonly storage: FileStorage) {}

  onApplicationBootstrap(): void {
    void this.purge();
    this.timer = repeat(() => void this.purge(), PURGE_EVERY_MS, 60_000);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async purge(now = Date.now()): Promise<number> {
    try {
      const purged = await this.storage.purgeStaged(new Date(now - STAGED_MAX_AGE_MS));
      if (purged > 0) this.logger.warn({ msg: 'purged staged uploads left behind', count: purged });
      return purged;
    } catch (err) {
      this.logger.warn({ err, msg: 'staged upload purge failed; will retry' });
      return 0;
    }
  }
}
