import { Logger, ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { ProblemException, type ProblemFieldError } from '../problem/problem.exception.js';
import { unstorableTextFields, unstorableTextMessage } from './unstorable-text.js';

/** class-validator errors as `errors[]` entries; the submitted values are never echoed. */
export function toFieldErrors(errors: ValidationError[], prefix = ''): ProblemFieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]) =>
      constraint === 'whitelistValidation'
        ? { field, code: 'unknown_field', message: `${field} is not a known field.` }
        : { field, code: 'invalid', message },
    );
    return [...own, ...toFieldErrors(error.children ?? [], field)];
  });
}

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Dotted paths of the keys named `__proto__`, `constructor` or `prototype`, at any depth (at
 * most 20). Nest's pipe would delete them silently (they are how prototype pollution gets in),
 * which would change a manifest's schema without a word: they are refused instead.
 */
function reservedKeyPaths(body: object): string[] {
  const found: string[] = [];
  const stack: Array<[unknown, string]> = [[body, '']];
  while (stack.length > 0 && found.length < 20) {
    const [value, path] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      if (RESERVED_KEYS.has(key)) found.push(childPath);
      else stack.push([child, childPath]);
    }
  }
  return found.reverse();
}

/**
 * Refuses a JSON body that is not an object (an array, a string, `null`…) with one clear
 * entry, before class-transformer turns an array into numbered "unknown fields".
 */
class ProblemValidationPipe extends ValidationPipe {
  private readonly log = new Logger('ValidationPipe');

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
    if (metadata.type === 'body' && value !== undefined && !isObject && this.toValidate(metadata)) {
      throw ProblemException.validation(
        [{ field: 'body', code: 'invalid', message: 'The request body must be a JSON object.' }],
        'The request body must be a JSON object.',
      );
    }
    if (metadata.type === 'body' && isObject && this.toValidate(metadata)) {
      const reserved = reservedKeyPaths(value);
      if (reserved.length > 0) {
        throw ProblemException.validation(
          reserved.map((field) =>
            field.includes('.')
              ? { field, code: 'invalid', message: `${field}: keys named __proto__, constructor or prototype are not accepted.` }
              : { field, code: 'unknown_field', message: `${field} is not a known field.` },
          ),
        );
      }
      const fields = unstorableTextFields(value);
      if (fields.length > 0) {
        throw ProblemException.validation(
          fields.map((field) => ({ field, code: 'invalid', message: unstorableTextMessage(field) })),
        );
      }
    }
    try {
      return await super.transform(value, metadata);
    } catch (err) {
      if (err instanceof ProblemException) throw err;
      // A validator that throws on odd input (validator.js does on some strings) is still the
      // client's input failing validation, not a server fault.
      this.log.warn({ err, msg: 'a validator threw instead of reporting' });
      throw ProblemException.validation([{ field: metadata.data ?? metadata.type, code: 'invalid', message: 'This value could not be validated.' }]);
    }
  }
}

/** The one global validation pipe: unknown fields refused, payloads transformed into DTOs. */
export function createValidationPipe(): ValidationPipe {
  return new ProblemValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => ProblemException.validation(toFieldErrors(errors)),
  });
}
