import { ApiResponse } from '@nestjs/swagger';
import { PROBLEM_CODES, problemType, type ProblemCode } from '../problem/problem-codes.js';

/**
 * Documents a route-specific error answer (problem+json, schema `Problem` from the shared
 * document) listing the codes it can carry; the first code is the example.
 */
export function ApiProblem(status: number, description: string, ...codes: ProblemCode[]) {
  const [first] = codes;
  return ApiResponse({
    status,
    description: `${description} (${codes.map((c) => `\`${c}\``).join(', ')})`,
    content: {
      'application/problem+json': {
        schema: { $ref: '#/components/schemas/Problem' },
        example: {
          type: problemType(first),
          title: PROBLEM_CODES[first].title,
          status,
          detail: '…',
          instance: 'urn:appstrate:request:req_0f3c9a…',
          code: first,
          requestId: 'req_0f3c9a…',
        },
      },
    },
  });
}
