import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';
import { SUPPORTED_API_VERSIONS } from '../api-versions/api-version.js';

/** `true/false/1/0` (any case) become booleans; anything else stays as written and fails validation. */
function toBoolean(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : value;
}

/**
 * Every setting the process reads, as the environment spells it. Validated once at boot:
 * a bad value stops the process with one line naming the variable (see `loadConfig`).
 */
class EnvironmentVariables {
  @IsOptional() @IsIn(['development', 'test', 'production'])
  NODE_ENV: string = 'development';

  @Transform(({ value }) => Number(value)) @IsInt() @Min(0) @Max(65535)
  PORT: number = 3000;

  @IsString() @Matches(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// URL' })
  DATABASE_URL: string;

  @IsString() @Matches(/^rediss?:\/\//, { message: 'must be a redis:// URL' })
  REDIS_URL: string;

  /** Public base URL of this service; Better Auth uses it for cookies and redirects. */
  @IsString() @Matches(/^https?:\/\//, { message: 'must be an http(s) URL' })
  PUBLIC_URL: string = 'http://localhost:3000';

  @IsString() @MinLength(32, { message: 'must be at least 32 characters' })
  BETTER_AUTH_SECRET: string;

  /** 32 bytes as 64 hex characters: the AES-256-GCM key that encrypts model API keys. */
  @IsString() @Matches(/^[0-9a-fA-F]{64}$/, { message: 'must be 64 hex characters (32 bytes)' })
  MODEL_SECRETS_KEY: string;

  @Transform(({ value }) => Number(value)) @IsInt() @Min(1)
  RUN_RATE_LIMIT_PER_MINUTE: number = 20;

  @Transform(({ value }) => Number(value)) @IsInt() @Min(1)
  ORG_MAX_CONCURRENT_RUNS: number = 50;

  @IsIn(['all', 'api', 'worker'])
  PROCESS_ROLE: 'all' | 'api' | 'worker' = 'all';

  @Transform(({ value }) => Number(value)) @IsInt() @Min(1) @Max(1000)
  WORKER_CONCURRENCY: number = 10;

  @IsString() @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date YYYY-MM-DD' })
  DEFAULT_API_VERSION: string = '2026-03-21';

  @Transform(({ value }) => Number(value)) @IsInt() @Min(1) @Max(86400)
  IDEMPOTENCY_LOCK_TIMEOUT_SECONDS: number = 60;

  @IsString() @MinLength(1)
  FILE_STORAGE_DIR: string = './var/files';

  @Transform(({ value }) => Number(value)) @IsInt() @Min(1)
  MAX_UPLOAD_BYTES: number = 25 * 1024 * 1024;

  /** Seconds between the comment lines that keep an idle run event stream open through proxies. */
  @Transform(({ value }) => Number(value)) @IsInt() @Min(1) @Max(300)
  SSE_KEEP_ALIVE_SECONDS: number = 15;

  /** Largest JSON body any route accepts. */
  @Transform(({ value }) => Number(value)) @IsInt() @Min(1024)
  MAX_JSON_BODY_BYTES: number = 1024 * 1024;

  @IsOptional() @IsString() @Matches(/^https?:\/\//, { message: 'must be an http(s) URL' })
  DEFAULT_MODEL_BASE_URL?: string;

  @IsOptional() @IsString()
  DEFAULT_MODEL_API_KEY?: string;

  @IsOptional() @IsString()
  DEFAULT_MODEL_NAME?: string;

  /** When false, model base URLs on loopback or private networks are refused. */
  @Transform(({ value }) => toBoolean(value)) @IsBoolean({ message: 'must be true or false' })
  ALLOW_PRIVATE_MODEL_URLS: boolean = true;

  /** Seconds after which a run whose worker vanished is retried or failed (BullMQ stall check). */
  @Transform(({ value }) => Number(value)) @IsInt() @Min(1) @Max(3600)
  WORKER_STALLED_INTERVAL_SECONDS: number = 30;

  /** Times a run may be picked up again after its worker vanished before it ends failed / worker_lost. */
  @Transform(({ value }) => Number(value)) @IsInt() @Min(0) @Max(10)
  WORKER_MAX_STALLED_COUNT: number = 1;

  /**
   * Workers re-queue `pending` runs older than this whose job is missing (an API process that
   * died between committing a run and queueing it); checked at this interval too.
   */
  @Transform(({ value }) => Number(value)) @IsInt() @Min(1) @Max(3600)
  ORPHAN_RUN_SWEEP_SECONDS: number = 60;

  /**
   * With PROCESS_ROLE=worker, the port of a small HTTP server answering only `GET /health` and
   * `GET /ready` (a worker serves no API). Unset: none. 0: any free port.
   */
  @IsOptional() @Transform(({ value }) => Number(value)) @IsInt() @Min(0) @Max(65535)
  WORKER_HEALTH_PORT?: number;

  /** Seconds a graceful shutdown (SIGTERM/SIGINT) may take before the process exits anyway (code 1). */
  @Transform(({ value }) => Number(value)) @IsInt() @Min(1) @Max(600)
  SHUTDOWN_TIMEOUT_SECONDS: number = 20;

  /** First delay before retrying a transient model failure; it doubles on each further attempt. */
  @Transform(({ value }) => Number(value)) @IsInt() @Min(0) @Max(60000)
  MODEL_RETRY_BASE_DELAY_MS: number = 200;

  /** Largest model answer (response body) a worker reads; a larger one fails the run (model_error). */
  @Transform(({ value }) => Number(value)) @IsInt() @Min(1024) @Max(256 * 1024 * 1024)
  MODEL_MAX_ANSWER_BYTES: number = 4 * 1024 * 1024;

  /** Apply pending database migrations (TypeORM and Better Auth) at boot. */
  @Transform(({ value }) => toBoolean(value)) @IsBoolean({ message: 'must be true or false' })
  MIGRATIONS_RUN: boolean = true;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';
}

export interface AppConfig {
  env: 'development' | 'test' | 'production';
  http: { port: number; publicUrl: string; maxJsonBodyBytes: number };
  database: { url: string; migrationsRun: boolean };
  redis: { url: string };
  auth: { secret: string };
  secrets: { modelKey: Buffer };
  apiVersions: { default: string };
  runs: {
    rateLimitPerMinute: number;
    orgMaxConcurrentRuns: number;
    idempotencyLockTimeoutSeconds: number;
    maxUploadBytes: number;
    eventsKeepAliveSeconds: number;
  };
  files: { storageDir: string };
  worker: {
    role: 'all' | 'api' | 'worker';
    concurrency: number;
    stalledIntervalSeconds: number;
    maxStalledCount: number;
    orphanSweepSeconds: number;
    retryBaseDelayMs: number;
    /** Probe port of a worker-only process (null: no probe server). */
    healthPort: number | null;
  };
  models: {
    allowPrivateUrls: boolean;
    maxAnswerBytes: number;
    serverDefault: { baseUrl: string; apiKey: string; model: string } | null;
  };
  log: { level: string };
  shutdownTimeoutSeconds: number;
}

/** Thrown with a message fit to print as the only line before exiting. */
export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const vars = plainToInstance(EnvironmentVariables, defined, { exposeDefaultValues: true });
  const [first] = validateSync(vars, { skipMissingProperties: false, whitelist: false });
  if (first) {
    const reason = Object.values(first.constraints ?? {})[0] ?? 'is invalid';
    const missing = defined[first.property] === undefined;
    throw new ConfigError(
      missing
        ? `Configuration error: ${first.property} is not set (see .env.example)`
        : `Configuration error: ${first.property} ${reason.replace(new RegExp(`^${first.property} `), '')}`,
    );
  }
  if (!(SUPPORTED_API_VERSIONS as readonly string[]).includes(vars.DEFAULT_API_VERSION)) {
    throw new ConfigError(
      `Configuration error: DEFAULT_API_VERSION must be one of ${SUPPORTED_API_VERSIONS.join(', ')}`,
    );
  }
  if (!!vars.DEFAULT_MODEL_BASE_URL !== !!vars.DEFAULT_MODEL_NAME) {
    const missing = vars.DEFAULT_MODEL_BASE_URL ? 'DEFAULT_MODEL_NAME' : 'DEFAULT_MODEL_BASE_URL';
    throw new ConfigError(`Configuration error: ${missing} is not set (the server default model needs both DEFAULT_MODEL_BASE_URL and DEFAULT_MODEL_NAME)`);
  }
  const serverDefault =
    vars.DEFAULT_MODEL_BASE_URL && vars.DEFAULT_MODEL_NAME
      ? { baseUrl: vars.DEFAULT_MODEL_BASE_URL, apiKey: vars.DEFAULT_MODEL_API_KEY ?? '', model: vars.DEFAULT_MODEL_NAME }
      : null;
  return {
    env: vars.NODE_ENV as AppConfig['env'],
    http: { port: vars.PORT, publicUrl: vars.PUBLIC_URL, maxJsonBodyBytes: vars.MAX_JSON_BODY_BYTES },
    database: { url: vars.DATABASE_URL, migrationsRun: vars.MIGRATIONS_RUN },
    redis: { url: vars.REDIS_URL },
    auth: { secret: vars.BETTER_AUTH_SECRET },
    secrets: { modelKey: Buffer.from(vars.MODEL_SECRETS_KEY, 'hex') },
    apiVersions: { default: vars.DEFAULT_API_VERSION },
    runs: {
      rateLimitPerMinute: vars.RUN_RATE_LIMIT_PER_MINUTE,
      orgMaxConcurrentRuns: vars.ORG_MAX_CONCURRENT_RUNS,
      idempotencyLockTimeoutSeconds: vars.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS,
      maxUploadBytes: vars.MAX_UPLOAD_BYTES,
      eventsKeepAliveSeconds: vars.SSE_KEEP_ALIVE_SECONDS,
    },
    files: { storageDir: vars.FILE_STORAGE_DIR },
    worker: {
      role: vars.PROCESS_ROLE,
      concurrency: vars.WORKER_CONCURRENCY,
      stalledIntervalSeconds: vars.WORKER_STALLED_INTERVAL_SECONDS,
      maxStalledCount: vars.WORKER_MAX_STALLED_COUNT,
      orphanSweepSeconds: vars.ORPHAN_RUN_SWEEP_SECONDS,
      retryBaseDelayMs: vars.MODEL_RETRY_BASE_DELAY_MS,
      healthPort: vars.WORKER_HEALTH_PORT ?? null,
    },
    models: { allowPrivateUrls: vars.ALLOW_PRIVATE_MODEL_URLS, maxAnswerBytes: vars.MODEL_MAX_ANSWER_BYTES, serverDefault },
    log: { level: vars.LOG_LEVEL },
    shutdownTimeoutSeconds: vars.SHUTDOWN_TIMEOUT_SECONDS,
  };
}
