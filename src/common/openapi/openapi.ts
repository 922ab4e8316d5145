import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type ApiPropertyOptions, type OpenAPIObject } from '@nestjs/swagger';
import { PROBLEM_CODES, problemType } from '../problem/problem-codes.js';
import { BETTER_AUTH_PATHS } from './better-auth.paths.js';

/**
 * `@ApiProperty` options for a property that holds any JSON value (an object, a string, …);
 * without them a TypeScript `unknown` is documented as an object.
 */
export const ANY_JSON: ApiPropertyOptions = {
  oneOf: [{ type: 'object', additionalProperties: true }, { type: 'array', items: {} }, { type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }],
};

/** On every 401. */
export const WWW_AUTHENTICATE = {
  'WWW-Authenticate': {
    description: 'The scheme to use: `Bearer error="invalid_token"` for a key that is not valid, else `Bearer realm="api", Cookie realm="session"`.',
    schema: { type: 'string' },
  },
};

const PROBLEM = { $ref: '#/components/schemas/Problem' };
const REQUEST_ID_HEADER = { $ref: '#/components/headers/Request-Id' };

const problemResponse = (description: string, code: keyof typeof PROBLEM_CODES) => ({
  description,
  headers: { 'Request-Id': REQUEST_ID_HEADER } as Record<string, unknown>,
  content: {
    'application/problem+json': {
      schema: PROBLEM,
      example: {
        type: problemType(code),
        title: PROBLEM_CODES[code].title,
        status: PROBLEM_CODES[code].status,
        detail: '…',
        instance: 'urn:appstrate:request:req_0f3c9a…',
        code,
        requestId: 'req_0f3c9a…',
      },
    },
  },
});

/** Error answers every authenticated operation can give, documented once here. */
const COMMON_ERRORS: Record<string, ReturnType<typeof problemResponse>> = {
  '400': problemResponse('Invalid request, validation failure, or bad header (see `code` and `param`).', 'invalid_request'),
  '401': {
    ...problemResponse('Missing, invalid or expired session or API key.', 'unauthorized'),
    headers: {
      'Request-Id': REQUEST_ID_HEADER,
      ...WWW_AUTHENTICATE,
    },
  },
  '403': problemResponse('Not a member, wrong organization, or a missing permission (named in `detail`).', 'forbidden'),
  // Only on operations with path parameters (see buildOpenApiDocument).
  '404': problemResponse('Not found in the caller’s organization.', 'not_found'),
  '500': problemResponse('A bug; quote the request id.', 'internal_error'),
};

/** Refusals of the request body itself, on every route that takes one. */
const BODY_ERRORS: Record<string, ReturnType<typeof problemResponse>> = {
  '413': problemResponse('The request body exceeds the size limit.', 'payload_too_large'),
  '415': problemResponse('A body that is not application/json.', 'unsupported_media_type'),
};

const APPSTRATE_VERSION_HEADER = { $ref: '#/components/headers/Appstrate-Version' };

/** The generic code of a status, for error responses a route documented by status only. */
const GENERIC_CODES: Record<string, keyof typeof PROBLEM_CODES> = {
  '400': 'invalid_request',
  '401': 'unauthorized',
  '403': 'forbidden',
  '404': 'not_found',
  '405': 'method_not_allowed',
  '409': 'conflict',
  '413': 'payload_too_large',
  '415': 'unsupported_media_type',
  '422': 'idempotency_conflict',
  '429': 'rate_limited',
  '503': 'service_unavailable',
};
const codeFor = (status: string): keyof typeof PROBLEM_CODES =>
  GENERIC_CODES[status] ?? (Number(status) >= 500 ? 'internal_error' : 'invalid_request');

interface Operation {
  responses?: Record<string, { description?: string; content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
  security?: unknown[];
  requestBody?: unknown;
}

const DESCRIPTION = `Run AI agents over REST.

**Authentication.** A Better Auth session cookie (\`better-auth.session_token\`, from \`/api/auth/sign-in/email\`) with \`X-Org-Id\`, or an API key \`Authorization: Bearer ask_…\` (its organization is implied).

**Errors** are RFC 9457 \`application/problem+json\` with a machine \`code\` from a closed list, a \`requestId\` equal to the \`Request-Id\` header, \`param\` naming a faulty header/query/path parameter, and \`errors[]\` on \`validation_failed\` (submitted values are never echoed).

**Versions.** \`Appstrate-Version: YYYY-MM-DD\` (header > organization pin > platform default); the resolved version is echoed on every authenticated response.

**Lists** answer \`{object: "list", data, hasMore, nextCursor}\`; page with \`?limit=\` (1..100, default 20) and \`?cursor=\`.`;

/** The OpenAPI 3.1 document: decorators for routes, plus what applies to every route. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Agent Run API')
    .setDescription(DESCRIPTION)
    .setVersion('2026-06-11')
    .addCookieAuth('better-auth.session_token', { type: 'apiKey', in: 'cookie', name: 'better-auth.session_token' }, 'session')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'ask_<48 hex>' }, 'apiKey')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, ...SHARED_SCHEMAS };
  document.components.headers = {
    ...document.components.headers,
    'Request-Id': { description: 'Server-generated id of this request (`req_…`).', schema: { type: 'string' } },
    'Appstrate-Version': { description: 'The API version the request was served with.', schema: { type: 'string' } },
  };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const operation of Object.values(item) as Operation[]) {
      if (!operation || typeof operation !== 'object' || !('responses' in operation)) continue;
      const isPublic = !operation.security || operation.security.length === 0;
      // `@ApiExtension('x-request-body', …)`: a request body whose schema differs per content
      // type (the run endpoint's JSON and multipart), which @ApiBody cannot express.
      const custom = operation as { 'x-request-body'?: unknown; requestBody?: unknown };
      if (custom['x-request-body']) {
        custom.requestBody = custom['x-request-body'];
        delete custom['x-request-body'];
      }
      const { '404': notFound, ...authenticated } = COMMON_ERRORS;
      const common = isPublic
        ? { '500': COMMON_ERRORS['500'] }
        : { ...authenticated, ...(path.includes('{') && { '404': notFound }), ...(operation.requestBody ? BODY_ERRORS : {}) };
      for (const [status, response] of Object.entries(common)) {
        // A copy: the headers below are set per operation.
        operation.responses![status] ??= structuredClone(response);
      }
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        // A route may declare an error status with only a description; every error is problem+json.
        if (Number(status) >= 400) response.content ??= problemResponse(response.description ?? '', codeFor(status)).content;
        response.headers = {
          'Request-Id': REQUEST_ID_HEADER,
          // Resolved after authentication: 401s (and org-context refusals) come before it.
          ...(!isPublic && status !== '401' && { 'Appstrate-Version': APPSTRATE_VERSION_HEADER }),
          ...response.headers,
        };
      }
    }
    document.paths[path] = item;
  }
  closeRequestSchemas(document);
  Object.assign(document.paths, BETTER_AUTH_PATHS);
  return document;
}

/**
 * Request bodies refuse unknown fields (400 `validation_failed`, `unknown_field`), nested
 * objects of the manifest included: the schemas they reference, directly or through others, say
 * so with `additionalProperties: false` (unless they declare their own, like `metadata`).
 */
function closeRequestSchemas(document: OpenAPIObject): void {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Record<string, unknown>>;
  const seen = new Set<string>();
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
      const name = ref.slice('#/components/schemas/'.length);
      const schema = schemas[name];
      if (seen.has(name) || !schema) return;
      seen.add(name);
      if (schema.type === 'object' && !('additionalProperties' in schema)) schema.additionalProperties = false;
      return visit(schema);
    }
    for (const child of Object.values(node)) visit(child);
  };
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as Operation[]) {
      const content = (operation?.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined)?.content;
      if (content?.['application/json']) visit(content['application/json'].schema);
    }
  }
}

const SHARED_SCHEMAS = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details.',
    required: ['type', 'title', 'status', 'detail', 'instance', 'code', 'requestId'],
    properties: {
      type: { type: 'string', format: 'uri', example: 'https://docs.appstrate.dev/errors/rate-limited' },
      title: { type: 'string', example: 'Rate Limited' },
      status: { type: 'integer', example: 429 },
      detail: { type: 'string' },
      instance: { type: 'string', example: 'urn:appstrate:request:req_0f3c9a' },
      code: { type: 'string', enum: Object.keys(PROBLEM_CODES) },
      requestId: { type: 'string' },
      param: { type: 'string', description: 'The header, query or path parameter, or multipart part at fault.' },
      retryAfter: { type: 'integer', minimum: 1, description: 'Seconds; on 429, 409 idempotency_in_progress and 503.' },
      errors: {
        type: 'array',
        description: 'On validation_failed: one entry per problem.',
        items: {
          type: 'object',
          required: ['field', 'code', 'message'],
          properties: { field: { type: 'string', example: 'input.email' }, code: { type: 'string' }, message: { type: 'string' } },
        },
      },
    },
  },
};

/** Serves `/api/openapi.json` and Swagger UI at `/api/docs`. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('api/docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'api/openapi.json',
    yamlDocumentUrl: 'api/openapi.yaml',
    useGlobalPrefix: false,
  });
}
