import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ProblemFieldError } from '../common/problem/problem.exception.js';
import { canonicalJson } from '../common/canonical-json.js';
import { linearRegExp } from './linear-regexp.js';
import type { JsonSchema } from './manifest.js';

// ajv-formats is CommonJS: under nodenext ESM its default export sits on `.default`.
const addFormats = (addFormatsModule as unknown as { default: typeof addFormatsModule.default }).default;

export type Ajv = Ajv2020;
export type { ErrorObject, ValidateFunction };

/**
 * An Ajv instance for the JSON Schema 2020-12 schemas users write in manifests.
 *
 * Strict where a mistake would silently weaken validation: unknown keywords (a typo such as
 * `requried`) and invalid regular expressions are compile errors, so they are refused when the
 * manifest is written. Not strict where valid, common schemas would trip it
 * (`properties` without `type: "object"`, union types, open tuples). Every error is collected
 * (`allErrors`), and formats known to `ajv-formats` are asserted. Remote `$ref`s are never
 * fetched, so a schema that needs one does not compile. Patterns run in a linear-time engine
 * (`linearRegExp`), so no input can make one backtrack for long.
 *
 * A user schema may carry an `$id`, and one Ajv instance refuses the same `$id` twice: compile
 * each user schema with its own instance, or use `compileUserSchema` (cached).
 * `validateSchema: false` skips checking the schema against the 2020-12 meta-schema, which
 * makes a fresh instance cheap (compiling the meta-schema costs tens of milliseconds); use it
 * for schemas already checked (stored manifests are checked when written).
 */
export function createAjv(options: { validateSchema?: boolean } = {}): Ajv {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
    validateFormats: true,
    validateSchema: options.validateSchema ?? true,
    unicodeRegExp: false,
    code: { regExp: linearRegExp },
  });
  addFormats(ajv);
  // Ajv compares every pair of non-scalar items (quadratic: 30,000 small arrays held the event
  // loop for seconds); this one compares canonical texts in a Set, linear in the value's size.
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate: uniqueItems });
  return ajv;
}

/** `uniqueItems` with JSON equality (see `canonicalJson`), reporting the first duplicate as Ajv does. */
function uniqueItems(this: unknown, schema: boolean, data: unknown[]): boolean {
  if (!schema) return true;
  const seen = new Map<string, number>();
  for (let i = 0; i < data.length; i++) {
    const text = canonicalJson(data[i]);
    const j = seen.get(text);
    if (j !== undefined) {
      uniqueItems.errors = [
        { keyword: 'uniqueItems', params: { i, j }, message: `must NOT have duplicate items (items ## ${j} and ${i} are identical)` },
      ];
      return false;
    }
    seen.set(text, i);
  }
  return true;
}
uniqueItems.errors = undefined as Array<Partial<ErrorObject>> | undefined;

let metaValidator: Ajv | undefined;

/**
 * Checks a schema against the 2020-12 meta-schema with one shared instance (checking adds
 * nothing to the instance, so `$id`s cannot collide). Returns Ajv's errors, or null when valid.
 */
export function metaSchemaErrors(schema: unknown): ErrorObject[] | null {
  metaValidator ??= createAjv();
  return metaValidator.validateSchema(schema as JsonSchema) ? null : (metaValidator.errors ?? []);
}

/** The `format` names a schema uses (every string under a `format` key; extra names are harmless). */
function formatNames(schema: unknown): Set<string> {
  const names = new Set<string>();
  const stack: unknown[] = [schema];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    for (const [key, child] of Object.entries(value)) {
      if (key === 'format' && typeof child === 'string') names.add(child);
      else if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
  return names;
}

/**
 * Compiles a user schema with its own instance (see `createAjv`). Formats `ajv-formats` knows
 * are asserted; any other format is an annotation only, as API.md section 3 says.
 */
export function compileSchema(schema: JsonSchema, options: { validateSchema?: boolean } = {}): ValidateFunction {
  const ajv = createAjv(options);
  for (const name of formatNames(schema)) if (!ajv.formats[name]) ajv.addFormat(name, true);
  return ajv.compile(schema);
}

/** Bounds of the compiled-schema cache: entries, and the schema text they hold in all (a schema can be ~1 MiB). */
const COMPILED_CACHE_LIMIT = 500;
const COMPILED_CACHE_MAX_CHARS = 16 * 1024 * 1024;
const compiled = new Map<string, ValidateFunction>();
let compiledChars = 0;
/**
 * The cache key each schema object was last compiled under: the run path passes the same
 * manifest object (held by the agent cache) request after request, and serializing a large
 * schema on every request would cost more than validating with it. An entry lives as long as
 * its schema object, so the text held here is bounded by what holds the objects (the agent
 * cache's 32 MiB), not by `COMPILED_CACHE_MAX_CHARS`.
 */
const keyOf = new WeakMap<object, string>();

/**
 * Compiles a stored (already validated) user schema, reusing earlier compilations of the same
 * schema text: the run path compiles the same manifests over and over. Stored schemas are never
 * mutated, so an object seen before is known by its text. Throws what Ajv throws.
 */
export function compileUserSchema(schema: JsonSchema): ValidateFunction {
  const byObject = typeof schema === 'object' && schema !== null;
  const key = (byObject && keyOf.get(schema)) || JSON.stringify(schema);
  const hit = compiled.get(key);
  if (hit) {
    // Refresh its place so the cache drops the least recently used schema first.
    compiled.delete(key);
    compiled.set(key, hit);
    if (byObject) keyOf.set(schema, key);
    return hit;
  }
  const validate = compileSchema(schema, { validateSchema: false });
  compiled.set(key, validate);
  compiledChars += key.length;
  if (byObject) keyOf.set(schema, key);
  // Least recently used first; the newest entry stays even when it alone is over the bound.
  for (const oldest of compiled.keys()) {
    if (compiled.size <= 1 || (compiled.size <= COMPILED_CACHE_LIMIT && compiledChars <= COMPILED_CACHE_MAX_CHARS)) break;
    compiled.delete(oldest);
    compiledChars -= oldest.length;
  }
  return validate;
}

/** An error of the value's root saying why the schema cannot check it. */
const uncheckable = (why: string): ErrorObject => ({ instancePath: '', schemaPath: '#', keyword: '$ref', params: {}, message: `cannot be checked: ${why}` });
const ENDLESS = uncheckable('the schema refers to itself without end');

/**
 * Ajv's errors for `value`, or null when it is valid. A schema that recurses without descending
 * into the value (`{"$ref": "#"}`) makes Ajv overflow the stack: reported as an error, not thrown.
 */
function check(validate: ValidateFunction, value: unknown): ErrorObject[] | null {
  try {
    return validate(value) ? null : (validate.errors ?? []);
  } catch (err) {
    if (err instanceof RangeError) return [ENDLESS];
    throw err;
  }
}

/**
 * Validates `value` against a stored user schema (compiled once, see `compileUserSchema`).
 * Returns Ajv's errors, or null when the value is valid. A schema that cannot check the value
 * is reported as an error of the value's root, not thrown: one stored before a rule it breaks
 * was added (it no longer compiles), or one that recurses without descending into the value
 * (Ajv overflows the stack).
 */
export function schemaErrors(schema: JsonSchema, value: unknown): ErrorObject[] | null {
  let validate: ValidateFunction;
  try {
    validate = compileUserSchema(schema);
  } catch (err) {
    return [uncheckable(`the schema no longer compiles (${(err as Error).message})`)];
  }
  return check(validate, value);
}

/** Whether a compiled schema recurses without end on some simple value (refused when written). */
export function recursesWithoutEnd(validate: ValidateFunction): boolean {
  return [null, true, 0, '', {}, []].some((probe) => check(validate, probe)?.[0] === ENDLESS);
}

/** `/a/b~1c/0` → `['a', 'b/c', '0']` (RFC 6901). */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return pointer === '/' ? [''] : [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The property an error is really about, for keywords that report on the parent object. */
function childProperty(error: ErrorObject): string | undefined {
  const params = error.params as Record<string, unknown>;
  for (const key of ['missingProperty', 'additionalProperty', 'unevaluatedProperty', 'propertyName']) {
    if (typeof params[key] === 'string') return params[key];
  }
  return undefined;
}

/**
 * Ajv errors as `errors[]` entries under `prefix` (e.g. `input` gives `input.email`). Messages
 * are Ajv's own ("must be string", "must have required property 'email'"): they describe the
 * schema, never the submitted value.
 */
export function ajvErrorsToFieldErrors(
  errors: ErrorObject[] | null | undefined,
  prefix: string,
  code = 'invalid_input',
): ProblemFieldError[] {
  const seen = new Set<string>();
  const result: ProblemFieldError[] = [];
  for (const error of errors ?? []) {
    const segments = pointerSegments(error.instancePath);
    const child = childProperty(error);
    if (child !== undefined) segments.push(child);
    const field = [prefix, ...segments].filter((s) => s !== '').join('.');
    const message = `${field} ${error.message ?? 'is invalid'}`;
    const dedupe = `${field}\u0000${message}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    result.push({ field, code, message });
  }
  return result;
}
