import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { isUuidString } from '../ids.js';
import { ProblemException } from '../problem/problem.exception.js';

/** A path parameter that must be a UUID: anything else is a 400 naming it. */
@Injectable()
export class UuidParam implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    const param = metadata.data ?? 'id';
    if (!isUuidString(value)) throw new ProblemException('invalid_request', `${param} must be a UUID.`, { param });
    return value.toLowerCase();
  }
}
