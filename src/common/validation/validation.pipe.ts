import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
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

/**
 * Refuses a JSON body that is not an object (an array, a string, `null`…) with one clear
 * entry, before class-transformer turns an array into numbered "unknown fields".
 */
class ProblemValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
    if (metadata.type === 'body' && value !== undefined && !isObject && this.toValidate(metadata)) {
      throw ProblemException.validation(
        [{ field: 'body', code: 'invalid', message: 'The request body must be a JSON object.' }],
        'The request body must be a JSON object.',
      );
    }
    return super.transform(value, metadata);
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
