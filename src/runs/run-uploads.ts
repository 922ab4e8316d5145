import type { ProblemException } from '../common/problem/problem.exception.js';

/** One file part of a multipart run request, staged in FileStorage (API.md section 5). */
export interface UploadedRunFile {
  /** The part name: the input field the file is meant for. */
  field: string;
  /** The client's filename (path stripped, control characters removed). */
  filename: string;
  /** The part's Content-Type as sent. */
  declaredType: string;
  /** The type the leading bytes reveal (`file-type`), or null when they are not recognizable. */
  detectedType: string | null;
  size: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  /** Where the bytes wait in FileStorage until the run is stored (committed) or refused (discarded). */
  stagingKey: string;
}

/** A parsed `multipart/form-data` run request: text parts by name, then the files in arrival order. */
export interface RunUploads {
  fields: Record<string, string>;
  files: UploadedRunFile[];
  /**
   * Why the body cannot be used: over a limit (413) or not usable multipart (no boundary,
   * malformed, a repeated text part: 400). It is refused at the body step (API.md section 5,
   * step 9), like malformed JSON. The files received (an oversized one up to the limit) are
   * then only fingerprinted.
   */
  problem?: ProblemException;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by RunUploadInterceptor on multipart run requests, before idempotency fingerprints them. */
    uploads?: RunUploads;
  }
}
