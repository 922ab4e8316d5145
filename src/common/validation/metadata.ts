import type { ApiPropertyOptions } from '@nestjs/swagger';
import { registerDecorator, type ValidationOptions } from 'class-validator';

export const METADATA_MAX_KEYS = 20;
export const METADATA_MAX_KEY_LENGTH = 40;
export const METADATA_MAX_VALUE_LENGTH = 500;

/** OpenAPI for a metadata property (`@ApiPropertyOptional({ ...METADATA_SCHEMA })`), from the same limits. */
export const METADATA_SCHEMA = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: METADATA_MAX_VALUE_LENGTH },
  propertyNames: { minLength: 1, maxLength: METADATA_MAX_KEY_LENGTH },
  maxProperties: METADATA_MAX_KEYS,
  description: `Up to ${METADATA_MAX_KEYS} keys of 1–${METADATA_MAX_KEY_LENGTH} characters, string values of at most ${METADATA_MAX_VALUE_LENGTH} characters.`,
} as ApiPropertyOptions;

/**
 * Why `value` is not acceptable metadata, or null when it is: a plain object of at most 20
 * keys of 1..40 characters whose values are strings of at most 500 characters (API.md section 5).
 * The message never quotes the submitted keys or values.
 */
export function metadataProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'metadata must be an object of string values.';
  const entries = Object.entries(value);
  if (entries.length > METADATA_MAX_KEYS) return `metadata may have at most ${METADATA_MAX_KEYS} keys.`;
  for (const [key, item] of entries) {
    if (key.length < 1 || key.length > METADATA_MAX_KEY_LENGTH) return `metadata keys must be 1 to ${METADATA_MAX_KEY_LENGTH} characters.`;
    if (typeof item !== 'string') return 'metadata values must be strings.';
    if (item.length > METADATA_MAX_VALUE_LENGTH) return `metadata values must be at most ${METADATA_MAX_VALUE_LENGTH} characters.`;
  }
  return null;
}

/** class-validator form of `metadataProblem`, for DTOs. */
export function IsMetadata(options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isMetadata',
      target: target.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => metadataProblem(value) === null,
        defaultMessage: (args) => metadataProblem(args?.value) ?? 'metadata is invalid.',
      },
    });
}
