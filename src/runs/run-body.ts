import { ajvErrorsToFieldErrors, schemaErrors } from '../catalog/json-schema.js';
import type { AgentManifest } from '../catalog/manifest.js';
import { acceptsType, getFileFields, mimeTypeForExtension, type FileField } from '../catalog/manifest-files.js';
import { newFileId } from '../common/ids.js';
import { ProblemException, type ProblemFieldError } from '../common/problem/problem.exception.js';
import { MAX_JSON_DEPTH, nestingDepthExceeds } from '../common/http/json-body.parser.js';
import { metadataProblem } from '../common/validation/metadata.js';
import { unstorableTextFields, unstorableTextMessage } from '../common/validation/unstorable-text.js';
import type { RunFileResource } from './run.presenter.js';
import type { RunSubmission } from './run-submission.js';
import type { UploadedRunFile } from './run-uploads.js';

/** A file accepted for a run: its id and effective type decided, its bytes still staged. */
export interface AcceptedRunFile extends RunFileResource {
  stagingKey: string;
}

/** A run body that passed step 9: the input as it will be stored (files as `file://` references). */
export interface AcceptedRunBody {
  input: Record<string, unknown>;
  metadata: Record<string, string>;
  modelId?: string;
  files: AcceptedRunFile[];
}

const JSON_FIELDS = new Set(['input', 'modelId', 'metadata']);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const fileReference = (fileId: string): string => `file://${fileId}`;

/**
 * A file's type for the accept check (API.md section 3): what its bytes reveal, else what its
 * extension implies, else what the client declared.
 */
export function effectiveFileType(file: Pick<UploadedRunFile, 'detectedType' | 'filename' | 'declaredType'>): string {
  if (file.detectedType) return file.detectedType;
  const dot = file.filename.lastIndexOf('.');
  const fromExtension = dot > 0 ? mimeTypeForExtension(file.filename.slice(dot)) : null;
  return fromExtension ?? file.declaredType;
}

const invalidPart = (part: string, detail: string) => new ProblemException('invalid_request', detail, { param: part });

/**
 * Step 9 of the run endpoint (API.md section 5), for the manifest the run will use: the body's
 * content type and shape, file parts (which field, how many, size, type), metadata, and the
 * input validated against the full input schema with files in place as `file://file_…` URIs.
 * Throws the first refusal; validation problems are gathered into one `validation_failed`.
 */
export function acceptRunBody(submission: RunSubmission, manifest: AgentManifest): AcceptedRunBody {
  const fileFields = getFileFields(manifest);
  switch (submission.kind) {
    case 'unsupported':
      throw new ProblemException(
        'unsupported_media_type',
        submission.contentType
          ? 'Send the run request as application/json or multipart/form-data.'
          : 'The request has a body but no Content-Type; send application/json or multipart/form-data.',
        { param: 'Content-Type' },
      );
    case 'empty':
      return finish({}, {}, undefined, [], fileFields, manifest, []);
    case 'json':
      return acceptJson(submission, fileFields, manifest);
    case 'multipart':
      if (submission.uploads.problem) throw submission.uploads.problem;
      return acceptMultipart(submission.uploads, fileFields, manifest);
  }
}

function acceptJson(
  submission: Extract<RunSubmission, { kind: 'json' }>,
  fileFields: Map<string, FileField>,
  manifest: AgentManifest,
): AcceptedRunBody {
  if (submission.error) throw submission.error;
  const body = submission.body;
  if (!isPlainObject(body)) {
    throw ProblemException.validation([{ field: 'body', code: 'invalid_type', message: 'The request body must be a JSON object.' }]);
  }
  const errors: ProblemFieldError[] = [];
  for (const key of Object.keys(body)) {
    if (!JSON_FIELDS.has(key)) errors.push({ field: key, code: 'unknown_field', message: `${key} is not a known field.` });
  }
  let input: Record<string, unknown> = {};
  if (Object.hasOwn(body, 'input')) {
    if (isPlainObject(body.input)) input = body.input;
    else errors.push({ field: 'input', code: 'invalid_type', message: 'input must be a JSON object.' });
  }
  let modelId: string | undefined;
  if (Object.hasOwn(body, 'modelId')) {
    if (typeof body.modelId === 'string') modelId = body.modelId;
    else errors.push({ field: 'modelId', code: 'invalid_type', message: 'modelId must be a string (a model id of the organization).' });
  }
  const metadata = Object.hasOwn(body, 'metadata') ? checkMetadata(body.metadata, errors) : {};
  return finish(input, metadata, modelId, [], fileFields, manifest, errors);
}

function acceptMultipart(
  uploads: { fields: Record<string, string>; files: UploadedRunFile[] },
  fileFields: Map<string, FileField>,
  manifest: AgentManifest,
): AcceptedRunBody {
  const errors: ProblemFieldError[] = [];
  let input: Record<string, unknown> = {};
  let modelId: string | undefined;
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(uploads.fields)) {
    if (name === 'input') {
      const parsed = parseJsonPart(name, value, 'The input part must hold a JSON object.');
      if (!isPlainObject(parsed)) throw invalidPart(name, 'The input part must hold a JSON object.');
      input = parsed;
    } else if (name === 'modelId') {
      modelId = value;
    } else if (name === 'metadata') {
      // Like a JSON body: unparseable → invalid_request, parsed but against the metadata rules → validation_failed.
      metadata = checkMetadata(parseJsonPart(name, value, 'The metadata part must hold JSON.'), errors);
    } else {
      throw invalidPart(
        name,
        fileFields.has(name)
          ? `Part ${name} is a file field: send it as a file part (with a filename).`
          : `Unknown part ${name}: the text parts are input, modelId and metadata.`,
      );
    }
  }

  const byField = new Map<string, UploadedRunFile[]>();
  for (const file of uploads.files) {
    const field = fileFields.get(file.field);
    if (!field) {
      throw invalidPart(
        file.field,
        JSON_FIELDS.has(file.field)
          ? `Send ${file.field} as a text part, not as a file.`
          : `Part ${file.field} is not a file field of this agent’s input.`,
      );
    }
    const list = byField.get(file.field) ?? [];
    list.push(file);
    if (!field.array && list.length > 1) throw invalidPart(file.field, `Field ${file.field} takes one file; send the part once.`);
    byField.set(file.field, list);
  }
  for (const file of uploads.files) {
    const maxSize = fileFields.get(file.field)!.maxSize;
    if (maxSize !== undefined && file.size > maxSize) {
      throw new ProblemException('payload_too_large', `A file in part ${file.field} exceeds its limit of ${maxSize} bytes.`, {
        param: file.field,
      });
    }
  }

  const accepted: AcceptedRunFile[] = [];
  for (const [name, files] of byField) {
    const field = fileFields.get(name)!;
    files.forEach((file, index) => {
      const contentType = effectiveFileType(file);
      if (!acceptsType(field, contentType)) {
        const path = field.array ? `input.${name}.${index}` : `input.${name}`;
        errors.push({ field: path, code: 'invalid_input', message: `${path} must be a file of type ${field.accept.join(', ')}.` });
      }
      accepted.push({
        id: newFileId(),
        field: name,
        filename: file.filename,
        contentType,
        size: file.size,
        sha256: file.sha256,
        stagingKey: file.stagingKey,
      });
    });
  }
  return finish(input, metadata, modelId, accepted, fileFields, manifest, errors);
}

/** A text part's JSON; malformed or too deep → 400 naming the part, like a malformed JSON body. */
function parseJsonPart(name: string, value: string, detail: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw invalidPart(name, detail);
  }
  // The same bound as a JSON body: every later step walks the value recursively.
  if (nestingDepthExceeds(parsed, MAX_JSON_DEPTH)) throw invalidPart(name, `The ${name} part is nested more than ${MAX_JSON_DEPTH} levels deep.`);
  return parsed;
}

function checkMetadata(value: unknown, errors: ProblemFieldError[]): Record<string, string> {
  const problem = metadataProblem(value);
  if (problem) {
    errors.push({ field: 'metadata', code: 'invalid', message: problem });
    return {};
  }
  return value as Record<string, string>;
}

/**
 * Puts the accepted files into the input as `file://` references (arrays for array fields),
 * refuses file fields filled with anything but an upload, and validates the whole input.
 */
function finish(
  given: Record<string, unknown>,
  metadata: Record<string, string>,
  modelId: string | undefined,
  files: AcceptedRunFile[],
  fileFields: Map<string, FileField>,
  manifest: AgentManifest,
  errors: ProblemFieldError[],
): AcceptedRunBody {
  // PostgreSQL could not store these (jsonb): refused here, as validation, rather than by the INSERT.
  for (const field of [...unstorableTextFields(given, 'input'), ...unstorableTextFields(metadata, 'metadata')]) {
    errors.push({ field, code: 'invalid', message: unstorableTextMessage(field) });
  }
  const input: Record<string, unknown> = { ...given };
  const reported = new Set<string>();
  for (const name of fileFields.keys()) {
    if (!Object.hasOwn(given, name)) continue;
    reported.add(`input.${name}`);
    errors.push({
      field: `input.${name}`,
      code: 'invalid_input',
      message: `input.${name} is a file field: upload the file as a multipart/form-data part named ${name}.`,
    });
    delete input[name];
  }
  for (const [name, field] of fileFields) {
    const refs = files.filter((f) => f.field === name).map((f) => fileReference(f.id));
    if (refs.length > 0) input[name] = field.array ? refs : refs[0];
  }
  const schema = manifest.input?.schema;
  if (schema !== undefined) {
    const problems = schemaErrors(schema, input);
    if (problems) {
      const inputErrors = ajvErrorsToFieldErrors(problems, 'input');
      // A file field already reported as wrongly filled would also be "required" here.
      errors.push(...inputErrors.filter((e) => ![...reported].some((r) => e.field === r || e.field.startsWith(`${r}.`))));
    }
  }
  if (errors.length > 0) throw ProblemException.validation(errors, 'The run request failed validation; see errors.');
  return { input, metadata, ...(modelId !== undefined && { modelId }), files };
}
