import { Logger, ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { ProblemException, type ProblemFieldError } from '../problem/problem.exception.js';

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
      // class-transformer silently drops these keys instead of reporting them as unknown.
      const reserved = Object.keys(value).filter((key) => RESERVED_KEYS.has(key));
      if (reserved.length > 0) {
        throw ProblemException.validation(reserved.map((field) => ({ field, code: 'unknown_field', message: `${field} is not a known field.` })));
      }
      const fields = fieldsWithUnstorableText(value);
      if (fields.length > 0) {
        throw ProblemException.validation(
          fields.map((field) => ({ field, code: 'invalid', message: `${field} must be well-formed Unicode text without NUL characters.` })),
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

/** U+0000 or a lone UTF-16 surrogate: neither can be stored by PostgreSQL text or jsonb (nor encoded as UTF-8). */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Dotted paths of the strings (and keys) holding unstorable text. */
function fieldsWithUnstorableText(body: object): string[] {
  const found: string[] = [];
  const stack: Array<[unknown, string]> = [[body, '']];
  while (stack.length > 0 && found.length < 20) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) found.push(path || 'body');
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        const name = UNSTORABLE.test(key) ? '?' : key;
        const childPath = path ? `${path}.${name}` : name;
        if (name === '?') found.push(childPath);
        stack.push([child, childPath]);
      }
    }
  }
  return found.reverse();
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
