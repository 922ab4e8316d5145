import { ValidationPipe, type ValidationError } from '@nestjs/common';
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

/** The one global validation pipe: unknown fields refused, payloads transformed into DTOs. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => ProblemException.validation(toFieldErrors(errors)),
  });
}
