import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { IdempotencyStore } from './idempotency.store.js';
import { repeat } from '../common/repeat.js';

const PURGE_EVERY_MS = 10 * 60 * 1000;

/** Deletes durable idempotency records past their 24 h, a batch every few minutes (cheap, indexed). */
@Injectable()
export class IdempotencyJanitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IdempotencyJanitor.name);
  private timer?: NodeJS.Timeout;

  constructor(private readonly store: IdempotencyStore) {}

  onApplicationBootstrap(): void {
    this.timer = repeat(() => void this.purge(), PURGE_EVERY_MS, 60_000);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async purge(): Promise<void> {
    try {
      while ((await this.store.purgeExpired()) >= 5000) {
        // keep going while full batches come back
      }
    } catch (err) {
      this.logger.warn({ err, msg: 'idempotency purge failed; will retry' });
    }
  }
}
