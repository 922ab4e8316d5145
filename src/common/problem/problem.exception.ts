import { PROBLEM_CODES, type ProblemCode } from './problem-codes.js';

export interface ProblemFieldError {
  /** Dotted path of the offending value, e.g. `input.email` or `manifest.timeoutSeconds`. */
  field: string;
  code: string;
  message: string;
}

export interface ProblemOptions {
  /** The one header, query or path parameter, or multipart part at fault. */
  param?: string;
  errors?: ProblemFieldError[];
  /** Seconds; sets `retryAfter` and the `Retry-After` header. */
  retryAfter?: number;
  /** Extra response headers (e.g. `WWW-Authenticate`, `Allow`). */
  headers?: Record<string, string>;
}

/**
 * The one exception services throw for an expected refusal. The global filter renders it as
 * RFC 9457 problem+json; its status and title always come from the code table.
 */
export class ProblemException extends Error {
  readonly status: number;

  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly options: ProblemOptions = {},
  ) {
    super(detail);
    this.name = 'ProblemException';
    this.status = PROBLEM_CODES[code].status;
  }

  static validation(errors: ProblemFieldError[], detail = 'The request body failed validation.'): ProblemException {
    return new ProblemException('validation_failed', detail, { errors });
  }
}
