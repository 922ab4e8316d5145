import type { ProblemFieldError } from '../common/problem/problem.exception.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { ajvErrorsToFieldErrors, compileSchema, metaSchemaErrors, recursesWithoutEnd } from './json-schema.js';
import type { AgentManifest, JsonSchema } from './manifest.js';
import { MAX_TIMEOUT_SECONDS } from './manifest.js';
import { fileProperties, mimeTypeForExtension, parseAcceptList } from './manifest-files.js';

const MANIFEST_KEYS = ['description', 'model', 'timeoutSeconds', 'input', 'output'];
const INPUT_KEYS = ['schema', 'fileConstraints'];
const OUTPUT_KEYS = ['schema'];
const CONSTRAINT_KEYS = ['accept', 'maxSize'];
export const MAX_MODEL_NAME_LENGTH = 200;

/** `type/subtype`, `type/*` or `*\/*` (RFC 6838 token characters, lowercase after parsing). */
const MIME_ENTRY = /^(\*\/\*|[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*))$/;
const EXTENSION_ENTRY = /^\.[a-z0-9][a-z0-9_+-]*(\.[a-z0-9][a-z0-9_+-]*)*$/;

type Obj = Record<string, unknown>;
const isObject = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);

class Collector {
  readonly errors: ProblemFieldError[] = [];
  add(field: string, code: string, message: string): void {
    this.errors.push({ field, code, message });
  }
  unknownKeys(value: Obj, allowed: string[], at: string): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.add(`${at}.${key}`, 'unknown_field', `${at}.${key} is not a known field (expected ${allowed.join(', ')}).`);
    }
  }
}

/** Compiles a user schema as the run endpoint will; problems are reported under `at`. */
function checkSchema(schema: unknown, at: string, out: Collector): schema is JsonSchema {
  if (!isObject(schema) && typeof schema !== 'boolean') {
    out.add(at, 'invalid_schema', `${at} must be a JSON Schema (an object or a boolean).`);
    return false;
  }
  let metaErrors: ReturnType<typeof metaSchemaErrors>;
  try {
    metaErrors = metaSchemaErrors(schema);
  } catch (err) {
    // Ajv throws, rather than reports, on a `$schema` that is not a string or names a dialect
    // other than 2020-12 (the only meta-schema it has).
    out.add(at, 'invalid_schema', `${at} is not a usable JSON Schema 2020-12: ${(err as Error).message}`);
    return false;
  }
  if (metaErrors) {
    out.errors.push(...ajvErrorsToFieldErrors(metaErrors, at, 'invalid_schema'));
    return false;
  }
  try {
    // A fresh instance per schema, so that a user's `$id` cannot collide with another one's.
    const validate = compileSchema(schema, { validateSchema: false });
    if (recursesWithoutEnd(validate)) {
      out.add(at, 'invalid_schema', `${at} refers to itself without descending into the value (like {"$ref": "#"}), so no value can be checked.`);
      return false;
    }
    return true;
  } catch (err) {
    // Strict-mode refusals, bad regular expressions, unresolvable $refs: Ajv says which keyword.
    out.add(at, 'invalid_schema', `${at} is not a usable JSON Schema 2020-12: ${(err as Error).message}`);
    return false;
  }
}

/** A comma-separated list of extensions and MIME types; returns whether every entry is usable. */
function checkAcceptList(value: string, at: string, out: Collector, allowExtensions: boolean): void {
  const entries = parseAcceptList(value);
  if (entries.length === 0) {
    out.add(at, 'invalid', `${at} must list at least one file extension or MIME type.`);
    return;
  }
  for (const entry of entries) {
    if (MIME_ENTRY.test(entry)) continue;
    if (allowExtensions && EXTENSION_ENTRY.test(entry)) {
      if (mimeTypeForExtension(entry) === null) out.add(at, 'invalid', `${at}: the extension ${entry} implies no known file type.`);
      continue;
    }
    out.add(
      at,
      'invalid',
      allowExtensions
        ? `${at} must be a comma-separated list of extensions like .pdf and MIME types like image/*.`
        : `${at} must be a MIME type such as application/pdf or image/*.`,
    );
  }
}

function checkInput(input: unknown, out: Collector): void {
  const at = 'manifest.input';
  if (!isObject(input)) return out.add(at, 'invalid', `${at} must be an object.`);
  out.unknownKeys(input, INPUT_KEYS, at);
  const schemaOk = input.schema === undefined || checkSchema(input.schema, `${at}.schema`, out);
  const files = schemaOk ? fileProperties(input.schema as JsonSchema | undefined) : new Map();
  for (const [field, file] of files) {
    const where = `${at}.schema.properties.${field}${file.array ? '.items' : ''}.contentMediaType`;
    checkAcceptList(file.contentMediaType, where, out, false);
  }
  if (input.fileConstraints === undefined) return;
  const fcAt = `${at}.fileConstraints`;
  if (!isObject(input.fileConstraints)) return out.add(fcAt, 'invalid', `${fcAt} must be an object keyed by file field.`);
  for (const [field, constraint] of Object.entries(input.fileConstraints)) {
    const cAt = `${fcAt}.${field}`;
    // Only judged against a schema that compiled; otherwise the schema errors say enough.
    if (schemaOk && !files.has(field)) {
      out.add(cAt, 'not_a_file_field', `${cAt} names no file field: a file field is a top-level input property with format "uri" and a contentMediaType, or an array of them.`);
      continue;
    }
    if (!isObject(constraint)) {
      out.add(cAt, 'invalid', `${cAt} must be an object with accept and/or maxSize.`);
      continue;
    }
    out.unknownKeys(constraint, CONSTRAINT_KEYS, cAt);
    if (constraint.accept !== undefined) {
      if (typeof constraint.accept !== 'string') out.add(`${cAt}.accept`, 'invalid', `${cAt}.accept must be a string such as ".pdf,image/*".`);
      else checkAcceptList(constraint.accept, `${cAt}.accept`, out, true);
    }
    if (constraint.maxSize !== undefined && !(Number.isSafeInteger(constraint.maxSize) && (constraint.maxSize as number) > 0)) {
      out.add(`${cAt}.maxSize`, 'invalid', `${cAt}.maxSize must be a positive integer number of bytes.`);
    }
  }
}

function checkOutput(output: unknown, out: Collector): void {
  const at = 'manifest.output';
  if (!isObject(output)) return out.add(at, 'invalid', `${at} must be an object.`);
  out.unknownKeys(output, OUTPUT_KEYS, at);
  if (output.schema !== undefined) checkSchema(output.schema, `${at}.schema`, out);
}

/** Every problem with a manifest, as `errors[]` entries under `manifest.…` (empty when valid). */
export function manifestErrors(manifest: unknown): ProblemFieldError[] {
  const out = new Collector();
  if (!isObject(manifest)) {
    out.add('manifest', 'invalid', 'manifest must be an object.');
    return out.errors;
  }
  out.unknownKeys(manifest, MANIFEST_KEYS, 'manifest');
  if (manifest.description !== undefined && typeof manifest.description !== 'string') {
    out.add('manifest.description', 'invalid', 'manifest.description must be a string.');
  }
  if (
    manifest.model !== undefined &&
    (typeof manifest.model !== 'string' || manifest.model.trim() === '' || manifest.model.length > MAX_MODEL_NAME_LENGTH)
  ) {
    out.add('manifest.model', 'invalid', `manifest.model must be a model name (a non-empty string of at most ${MAX_MODEL_NAME_LENGTH} characters).`);
  }
  const timeout = manifest.timeoutSeconds;
  if (timeout !== undefined && !(Number.isInteger(timeout) && (timeout as number) >= 1 && (timeout as number) <= MAX_TIMEOUT_SECONDS)) {
    out.add('manifest.timeoutSeconds', 'invalid', `manifest.timeoutSeconds must be an integer from 1 to ${MAX_TIMEOUT_SECONDS}.`);
  }
  if (manifest.input !== undefined) checkInput(manifest.input, out);
  if (manifest.output !== undefined) checkOutput(manifest.output, out);
  return out.errors;
}

/** The manifest, typed, or a 400 `validation_failed` listing every problem. */
export function validateManifest(manifest: unknown): AgentManifest {
  const errors = manifestErrors(manifest);
  if (errors.length > 0) throw ProblemException.validation(errors, 'The manifest is not valid; see errors[].');
  return manifest as AgentManifest;
}
