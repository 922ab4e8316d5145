import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { currentContext } from '../context/request-context.js';

/**
 * Structured JSON logs. Every line written while serving a request carries its request id,
 * org id, principal and run id, read from the async context. Workers log `runId` and `orgId`
 * as fields of each line instead: entering an AsyncLocalStorage would turn on promise hooks
 * for the whole worker process on Node 20 (≈ 10 % of its CPU).
 */
export function createPinoLogger(level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const ctx = currentContext();
      if (!ctx) return {};
      const p = ctx.principal;
      return {
        requestId: ctx.requestId,
        ...(ctx.traceparent && { traceparent: ctx.traceparent }),
        ...(p?.orgId && { orgId: p.orgId }),
        ...(p && { principal: p.apiKeyId ? `api_key:${p.apiKeyId}` : `user:${p.userId}` }),
        ...(p?.endUserId && { endUserId: p.endUserId }),
        ...(ctx.runId && { runId: ctx.runId }),
      };
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Nest's logger interface over pino, so framework and app logs share one format. */
export class AppLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, context?: string): void {
    this.write('info', message, context);
  }
  error(message: unknown, stackOrContext?: string, context?: string): void {
    const ctx = context ?? (stackOrContext && !stackOrContext.includes('\n') ? stackOrContext : undefined);
    const stack = stackOrContext?.includes('\n') ? stackOrContext : undefined;
    this.write('error', message, ctx, stack);
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string): void {
    this.write('fatal', message, context);
  }

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, context?: string, stack?: string): void {
    const fields: Record<string, unknown> = context ? { context } : {};
    if (stack) fields.stack = stack;
    if (message instanceof Error) this.pino[level]({ ...fields, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) this.pino[level]({ ...fields, ...message });
    else this.pino[level](fields, String(message));
  }
}
