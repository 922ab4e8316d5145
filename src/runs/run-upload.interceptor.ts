import { Inject, Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import busboy from 'busboy';
import type { FastifyRequest } from 'fastify';
import { fileTypeFromBuffer } from 'file-type';
import { Transform, type Readable } from 'node:stream';
import { catchError, concatMap, finalize, from, throwError, type Observable } from 'rxjs';
import { ProblemException } from '../common/problem/problem.exception.js';
import type { AppConfig } from '../config/app.config.js';
import { InjectConfig } from '../config/config.module.js';
import { FILE_STORAGE, type FileStorage, type StagedFile } from '../files/file-storage.js';
import { isMultipartFormData } from '../common/http/json-body.parser.js';
import type { RunUploads, UploadedRunFile } from './run-uploads.js';

export type { RunUploads, UploadedRunFile } from './run-uploads.js';

/** Bytes kept from the start of each file for type sniffing (zip-based formats need more than file-type's 4 KB minimum). */
const SNIFF_BYTES = 64 * 1024;
/** Bounds on the parts of one request; a run has at most a handful of text parts. */
const MAX_FILES = 100;
const MAX_TEXT_PARTS = 20;

/** Keeps the first `limit` bytes that flow through. */
class Head extends Transform {
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    if (this.kept < this.limit) {
      const part = chunk.subarray(0, this.limit - this.kept);
      this.chunks.push(part);
      this.kept += part.length;
    }
    done(null, chunk);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A client filename made safe to store and show: no path, no control characters, bounded. */
function cleanFilename(raw: string | undefined): string {
  const name = (raw ?? '').replace(/[\u0000-\u001f\u007f]/g, '').split(/[\\/]/).pop()!.trim();
  // Cut at 255 UTF-16 units without splitting a surrogate pair (a lone half cannot be stored).
  return name.slice(0, 255).replace(/[\ud800-\udbff]$/, '');
}

const tooLarge = (part: string, limit: number) =>
  new ProblemException('payload_too_large', `The file in part ${part} exceeds the server limit of ${limit} bytes.`, { param: part });

/**
 * Parses a `multipart/form-data` run request before idempotency fingerprints it: text parts are
 * collected, each file part is streamed into FileStorage staging (hashed and counted on the
 * way, its type sniffed from its first bytes) and the result is put on `req.uploads`.
 *
 * Nothing is refused here. A body over a limit (a file over the server limit `MAX_UPLOAD_BYTES`,
 * a text part over the JSON limit, too many parts: 413) or not usable as multipart (no
 * boundary, malformed, a repeated text part: 400) is still read to its end (bytes past a limit
 * are dropped, never stored), and the problem is recorded as `uploads.problem`. It is refused
 * at the body step, after the agent, permission and version checks, and kept for the
 * Idempotency-Key like any refusal (the problem is part of the fingerprint). Everything else
 * (which parts the agent accepts, per-field sizes and types) is the service's job, in its
 * documented turn.
 *
 * Staged files the service did not commit are discarded before the response leaves, whatever
 * the outcome (refusal, error, idempotent replay), so nothing is left behind.
 */
@Injectable()
export class RunUploadInterceptor implements NestInterceptor {
  private readonly logger = new Logger(RunUploadInterceptor.name);

  constructor(
    @Inject(FILE_STORAGE) private readonly storage: FileStorage,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    if (!isMultipartFormData(req.headers['content-type'])) return next.handle();
    const uploads = await this.parse(req);
    req.uploads = uploads;
    const cleanUp = () => from(this.discard(uploads));
    return next.handle().pipe(
      concatMap((value) => cleanUp().pipe(concatMap(() => [value]))),
      catchError((error: unknown) => cleanUp().pipe(concatMap(() => throwError(() => error)))),
      // A client that went away unsubscribes: no answer to wait for, but the files still go.
      finalize(() => void this.discard(uploads)),
    );
  }

  /** Deletes every staged file; the ones the service committed have moved away and are skipped. */
  private async discard(uploads: RunUploads): Promise<void> {
    await Promise.all(
      uploads.files.map((file) =>
        this.storage.discard(file.stagingKey).catch((error: unknown) => this.logger.error({ err: error, msg: 'could not discard a staged upload' })),
      ),
    );
  }

  private parse(request: FastifyRequest): Promise<RunUploads> {
    const req = request.raw;
    const maxBytes = this.config.runs.maxUploadBytes;
    return new Promise<RunUploads>((resolve, reject) => {
      let parser: busboy.Busboy;
      try {
        parser = busboy({
          headers: req.headers,
          defParamCharset: 'utf8',
          limits: {
            fileSize: maxBytes,
            files: MAX_FILES,
            fields: MAX_TEXT_PARTS,
            parts: MAX_FILES + MAX_TEXT_PARTS,
            fieldSize: this.config.http.maxJsonBodyBytes,
          },
        });
      } catch {
        // Left unread: without a boundary there are no parts to stage or fingerprint.
        return resolve({
          fields: {},
          files: [],
          problem: new ProblemException('invalid_request', 'The multipart/form-data body is malformed (missing or invalid boundary).'),
        });
      }

      // No prototype: a part named `__proto__` is a field like any other (and refused as unknown).
      const fields: Record<string, string> = Object.create(null) as Record<string, string>;
      const pending: Array<Promise<UploadedRunFile | null>> = [];
      let aborted: ProblemException | null = null;
      let unusable: ProblemException | null = null;
      let settled = false;
      /** Over a limit or not usable multipart: refused at the body step (see `RunUploads.problem`). */
      const refuseLater = (problem: ProblemException) => {
        unusable ??= problem;
      };

      const finish = async () => {
        if (settled) return;
        settled = true;
        const results = await Promise.allSettled(pending);
        const files = results.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
        // A malformed body also cuts the part being staged short: that failure is the malformation's.
        const error = aborted ?? (unusable ? undefined : results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason);
        if (error) {
          await this.discard({ fields, files });
          return reject(error);
        }
        // With a problem the files are not used, but they stay (discarded with the response) so
        // that the fingerprint tells two refused requests with different files apart.
        resolve(unusable ? { fields, files, problem: unusable } : { fields, files });
      };

      parser.on('field', (name, value, info) => {
        if (settled) return;
        if (info.valueTruncated) {
          refuseLater(new ProblemException('payload_too_large', `Part ${name} exceeds ${this.config.http.maxJsonBodyBytes} bytes.`, { param: name }));
        } else if (Object.hasOwn(fields, name)) {
          refuseLater(new ProblemException('invalid_request', `Send the ${name} part once.`, { param: name }));
        } else {
          fields[name] = value;
        }
      });

      parser.on('file', (name, stream, info) => {
        // Parts the parser still finds in what it had buffered after an error come too late:
        // the result is taken, and a file staged now would never be discarded.
        if (settled) return void stream.resume();
        pending.push(this.stageFile(name, stream, info, maxBytes, refuseLater));
      });

      for (const event of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
        parser.on(event, () =>
          refuseLater(new ProblemException('payload_too_large', `A run request takes at most ${MAX_FILES} files and ${MAX_TEXT_PARTS} text parts.`)),
        );
      }
      parser.on('error', () => {
        refuseLater(new ProblemException('invalid_request', 'The multipart/form-data body is malformed.'));
        req.unpipe(parser);
        req.resume();
        void finish();
      });
      parser.on('close', () => void finish());
      // The client went away mid-body: nothing will answer, but staged files must not stay.
      req.on('close', () => {
        if (!req.complete) {
          aborted ??= new ProblemException('invalid_request', 'The request body ended early.');
          // Ends the part being received with an error, so its staged bytes are removed.
          req.unpipe(parser);
          parser.destroy(new Error('request aborted'));
          void finish();
        }
      });
      req.pipe(parser);
    });
  }

  private async stageFile(
    field: string,
    stream: Readable & { truncated?: boolean },
    info: busboy.FileInfo,
    maxBytes: number,
    refuseLater: (problem: ProblemException) => void,
  ): Promise<UploadedRunFile | null> {
    const head = new Head(SNIFF_BYTES);
    let truncated = false;
    stream.on('limit', () => {
      truncated = true;
      refuseLater(tooLarge(field, maxBytes));
    });
    // pipe() does not forward errors: a part cut short (malformed or aborted body) must fail the write.
    stream.once('error', (error) => head.destroy(error));
    let staged: StagedFile;
    try {
      staged = await this.storage.stage(stream.pipe(head));
    } catch (error) {
      stream.resume(); // keep the parser going so the request is consumed and answered
      throw error;
    }
    const filename = cleanFilename(info.filename);
    // Browsers send an empty, nameless part for a file input left blank: that is no file.
    // A file cut at the limit is kept (only its first bytes, with the refused request's other
    // files) so that the fingerprint tells two oversized files apart.
    if (!truncated && staged.size === 0 && filename === '') {
      await this.storage.discard(staged.key);
      return null;
    }
    const detected = await fileTypeFromBuffer(head.bytes()).catch(() => undefined);
    return {
      field,
      filename: filename || 'file',
      declaredType: (info.mimeType || 'application/octet-stream').toLowerCase(),
      detectedType: detected?.mime ?? null,
      size: staged.size,
      sha256: staged.sha256,
      stagingKey: staged.key,
    };
  }
}
