import { ValidateIf } from 'class-validator';

/**
 * The field may be left out, but not sent as `null` (unlike `@IsOptional()`, which skips
 * validation for both): for fields that have no "empty" value, such as an org's name.
 */
export const IsOptionalNotNull = () => ValidateIf((_object, value) => value !== undefined);
