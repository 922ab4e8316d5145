import { Global, Module } from '@nestjs/common';
import { IdempotencyKeyGuard } from './idempotency-key.guard.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyJanitor } from './idempotency.janitor.js';
import { IdempotencyStore } from './idempotency.store.js';

/**
 * Idempotency-Key support. Global so that `@Idempotent()` works on any controller without an
 * import (its guard and interceptor are resolved in the controller's module).
 */
@Global()
@Module({
  providers: [IdempotencyStore, IdempotencyInterceptor, IdempotencyKeyGuard, IdempotencyJanitor],
  exports: [IdempotencyStore, IdempotencyInterceptor, IdempotencyKeyGuard],
})
export class IdempotencyModule {}
