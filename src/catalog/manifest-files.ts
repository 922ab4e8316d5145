import mime from 'mime-types';
import type { AgentManifest, JsonSchema } from './manifest.js';

/** A top-level input property that takes uploaded files (API.md section 3). */
export interface FileField {
  field: string;
  /** An array of files (`items` is the file property) rather than one file. */
  array: boolean;
  /** The array's `maxItems`, when it has one. */
  maxItems?: number;
  /** Listed in the input schema's `required`. */
  required: boolean;
  /** Parsed, lowercased accept entries: extensions (`.pdf`), MIME types (`image/png`, `image/*`, `*\/*`). */
  accept: string[];
  /** `fileConstraints[field].maxSize`, in bytes. */
  maxSize?: number;
}

type SchemaObject = Record<string, unknown>;

const isObject = (value: unknown): value is SchemaObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A property schema describing one file: `format: "uri"` plus a `contentMediaType`. */
export function isFileProperty(schema: unknown): schema is SchemaObject & { contentMediaType: string } {
  return isObject(schema) && schema.format === 'uri' && typeof schema.contentMediaType === 'string';
}

/** Which top-level properties of an input schema are file fields, with their `array` flag and `maxItems`. */
export function fileProperties(schema: JsonSchema | undefined): Map<string, { array: boolean; maxItems?: number; contentMediaType: string }> {
  const found = new Map<string, { array: boolean; maxItems?: number; contentMediaType: string }>();
  if (!isObject(schema) || !isObject(schema.properties)) return found;
  for (const [field, property] of Object.entries(schema.properties)) {
    if (isFileProperty(property)) {
      found.set(field, { array: false, contentMediaType: property.contentMediaType });
    } else if (isObject(property) && isFileProperty(property.items)) {
      const maxItems = typeof property.maxItems === 'number' ? property.maxItems : undefined;
      found.set(field, { array: true, contentMediaType: property.items.contentMediaType, ...(maxItems !== undefined && { maxItems }) });
    }
  }
  return found;
}

/** `".PDF, image/*"` → `['.pdf', 'image/*']`. */
export function parseAcceptList(accept: string): string[] {
  return accept
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== '');
}

/** The file fields of a manifest's input schema, keyed by field name. */
export function getFileFields(manifest: AgentManifest): Map<string, FileField> {
  const schema = manifest.input?.schema;
  const required = new Set(isObject(schema) && Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === 'string') : []);
  const constraints = manifest.input?.fileConstraints ?? {};
  const fields = new Map<string, FileField>();
  for (const [field, property] of fileProperties(schema)) {
    const constraint = Object.hasOwn(constraints, field) ? constraints[field] : undefined;
    const accept = parseAcceptList(typeof constraint?.accept === 'string' ? constraint.accept : property.contentMediaType);
    fields.set(field, {
      field,
      array: property.array,
      ...(property.maxItems !== undefined && { maxItems: property.maxItems }),
      required: required.has(field),
      accept,
      ...(typeof constraint?.maxSize === 'number' && { maxSize: constraint.maxSize }),
    });
  }
  return fields;
}

/** The MIME type a file extension implies (`.pdf` → `application/pdf`), or null when unknown. */
export function mimeTypeForExtension(extension: string): string | null {
  const type = mime.lookup(extension.startsWith('.') ? extension : `.${extension}`);
  return type === false ? null : type.toLowerCase();
}

/** `Image/PNG; charset=x` → `image/png`. */
const essence = (type: string): string => type.split(';')[0].trim().toLowerCase();

/** Entries that accept any file. */
const ANY = new Set(['*/*', 'application/octet-stream']);

/**
 * Whether a file of `mimeType` (its detected or implied type) is accepted by the field: it
 * matches a MIME entry (exactly, or a wildcard such as `image/*`; `*\/*` and
 * `application/octet-stream` accept anything) or the type an extension entry implies.
 */
export function acceptsType(field: Pick<FileField, 'accept'>, mimeType: string): boolean {
  const type = essence(mimeType);
  return field.accept.some((entry) => {
    if (ANY.has(entry)) return true;
    if (entry.startsWith('.')) return mimeTypeForExtension(entry) === type;
    if (entry.endsWith('/*')) return type.startsWith(entry.slice(0, -1));
    return entry === type;
  });
}
