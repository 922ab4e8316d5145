import { applyDecorators, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiConsumes, ApiExtension, ApiExtraModels, ApiOperation, ApiQuery, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { VersionedResponse } from '../api-versions/versioned-response.interceptor.js';
import { Auth } from '../auth/auth.decorators.js';
import { OwnBodyChecks } from '../common/http/body.guard.js';
import { WWW_AUTHENTICATE } from '../common/openapi/openapi.js';
import { PROBLEM_CODES, problemType, type ProblemCode } from '../common/problem/problem-codes.js';
import { Idempotent } from '../idempotency/idempotency.decorator.js';
import { RateLimit, RATE_LIMIT_RESPONSE_HEADERS } from '../rate-limit/rate-limit.decorator.js';
import { AgentPathGuard } from './agent-path.guard.js';
import { RunUploadInterceptor } from './run-upload.interceptor.js';
import { CreateRunJsonDto, RunCreatedLegacyDto, RunDto } from './runs.dto.js';

interface ProblemExample {
  code: ProblemCode;
  detail: string;
  param?: string;
  retryAfter?: number;
  errors?: Array<{ field: string; code: string; message: string }>;
}

/** One documented error status of the run endpoint, with a named example per code it can carry. */
function problems(status: number, description: string, examples: ProblemExample[], headers: Record<string, unknown> = {}) {
  return ApiResponse({
    status,
    description,
    headers: headers as never,
    content: {
      'application/problem+json': {
        schema: { $ref: '#/components/schemas/Problem' },
        examples: Object.fromEntries(
          examples.map((e, i) => [
            e.param ? `${e.code}_${e.param}` : examples.findIndex((x) => x.code === e.code) === i ? e.code : `${e.code}_${i}`,
            {
              summary: e.param ? `${e.code} (${e.param})` : e.code,
              value: {
                type: problemType(e.code),
                title: PROBLEM_CODES[e.code].title,
                status,
                detail: e.detail,
                instance: 'urn:appstrate:request:req_5d1c0e9a7b3f',
                code: e.code,
                requestId: 'req_5d1c0e9a7b3f',
                ...(e.param && { param: e.param }),
                ...(e.retryAfter && { retryAfter: e.retryAfter }),
                ...(e.errors && { errors: e.errors }),
              },
            },
          ]),
        ),
      },
    },
  });
}

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } } };
const REPLAYED = {
  'Idempotent-Replayed': { description: '`true` when this is the stored answer to an earlier request with the same Idempotency-Key.', schema: { type: 'string', enum: ['true'] } },
};
const SUCCESS_HEADERS = { 'Appstrate-Version': { $ref: '#/components/headers/Appstrate-Version' }, ...RATE_LIMIT_RESPONSE_HEADERS, ...REPLAYED };
/** On refusals from the rate-limit step on (a 400 for a header or path refused earlier has neither); kept ones are replayed. */
const REFUSAL_HEADERS = { ...RATE_LIMIT_RESPONSE_HEADERS, ...REPLAYED };

const DESCRIPTION = `Starts a run of \`@scope/name\` and answers at once; the run executes in the background (poll \`GET /api/runs/{id}\`, or follow \`/events\`).

**Checks, in this order** (the first failure answers): authentication, organization and \`Appstrate-User\` → \`Appstrate-Version\` → path parameters → rate limit → \`Idempotency-Key\` → the agent (404 \`agent_not_found\`, another organization's agent included) → permission \`agents:run\` → \`?version=\` → the body → the model → the organization's concurrency cap. No refusal leaves a run, a stored file or a queued job behind.

**Body.** Either \`application/json\` \`{input?, modelId?, metadata?}\` (an empty body means no input; unknown fields → \`validation_failed\` with \`code: "unknown_field"\`; malformed JSON → 400 \`invalid_request\`; a body over \`MAX_JSON_BODY_BYTES\` → 413 as soon as it is received, before any other check, and not kept for idempotent replay), or \`multipart/form-data\`: a text part \`input\` (a JSON object), optional text parts \`modelId\` and \`metadata\` (JSON), and one file part per file, named after its file field (repeat the part for array fields). A file field is an input property with \`format: "uri"\` and a \`contentMediaType\` (or an array of those). File fields can only be filled by file parts; the stored input references each file as \`file://file_…\` and the run lists them in \`files\` (with SHA-256). Any other content type with a body, or a body without \`Content-Type\`, → 415.

**Multipart specifics.** The upload is read before the \`Idempotency-Key\` step (its fingerprint covers the files' SHA-256). Multipart that cannot be used (no boundary, malformed, a text part sent twice) → 400 \`invalid_request\` at the body step, like malformed JSON (kept for replay). So are the limits, in the body step and kept for replay: more than 100 files or 20 text parts → 413, a text part over \`MAX_JSON_BODY_BYTES\` → 413 naming it, a file larger than the server limit (\`MAX_UPLOAD_BYTES\`) → 413 naming the part (its bytes beyond the limit are read and dropped, never stored), a file larger than its field's \`maxSize\` → 413 naming the field. A file's type is the one its bytes reveal, else its extension's, else the declared part type; outside the field's \`accept\` → \`validation_failed\`.

**Model.** \`modelId\` (404 \`not_found\` with \`param: "modelId"\` when it names no model of the organization) > the manifest's \`model\` by name (no match → 400 \`model_not_configured\`, no fallback) > the organization default > the server default > 400 \`model_not_configured\`.

**Answer per API version.** \`2026-03-21\`: 200 \`{"runId"}\`. \`2026-06-11\`: 201 with \`Location: /api/runs/{id}\` and the Run. If the queue cannot be reached the request answers 503 and no run is kept.`;

/**
 * Everything the run endpoint (`POST /api/agents/{scope}/{name}/run`) needs besides its
 * `@Post`, in the order API.md section 5 checks things: authentication (the permission is
 * checked by the service after the agent lookup), the path guard, the rate limit, the
 * multipart upload (staged before idempotency fingerprints it), idempotency, and the version
 * transform of the answer; then its OpenAPI description.
 */
export const RunEndpoint = () =>
  applyDecorators(
    Auth(),
    OwnBodyChecks(),
    UseGuards(AgentPathGuard),
    RateLimit('run'),
    UseInterceptors(RunUploadInterceptor),
    Idempotent(),
    VersionedResponse('run.created'),
    // ---- OpenAPI ----
    ApiExtension('x-permission', 'agents:run'),
    ApiOperation({ summary: 'Execute an agent', description: DESCRIPTION, operationId: 'runAgent' }),
    ApiQuery({
      name: 'version',
      required: false,
      description:
        'Which version runs: omitted or empty → the live agent (`ref: "draft"`); else an exact version (yanked ones included), else a dist-tag, else a semver range (the highest matching non-yanked version; prereleases only when the range names one).',
      schema: { type: 'string', examples: ['1.2.0', 'latest', '^1.2'] },
    }),
    ApiConsumes('application/json', 'multipart/form-data'),
    ApiExtraModels(CreateRunJsonDto, RunDto, RunCreatedLegacyDto),
    ApiExtension('x-request-body', {
      required: false,
      content: {
        'application/json': {
          schema: { $ref: getSchemaPath(CreateRunJsonDto) },
          examples: {
            minimal: { summary: 'No input', value: {} },
            full: { summary: 'Input, model and metadata', value: { input: { ticket: 'Printer on fire' }, modelId: '0193b2c4-1d2e-7f00-8a00-0123456789ab', metadata: { ticketId: 'T-1042' } } },
          },
        },
        'multipart/form-data': {
          schema: {
            type: 'object',
            properties: {
              input: { type: 'string', contentMediaType: 'application/json', description: 'The input as a JSON object, without the file fields.', example: '{"ticket":"Printer on fire"}' },
              modelId: { type: 'string', format: 'uuid', description: 'One of the organization’s models.' },
              metadata: { type: 'string', contentMediaType: 'application/json', description: 'A JSON object: up to 20 keys of 1–40 characters, string values up to 500.' },
            },
            additionalProperties: {
              type: 'string',
              format: 'binary',
              contentMediaType: 'application/octet-stream',
              description: 'A file part named after a file field of the input schema (repeat it for array fields).',
            },
          },
          encoding: { input: { contentType: 'application/json' }, metadata: { contentType: 'application/json' } },
        },
      },
    }),
    ApiResponse({
      status: 200,
      description: 'API version `2026-03-21`: the run was accepted (status `pending`).',
      headers: SUCCESS_HEADERS as never,
      content: { 'application/json': { schema: { $ref: getSchemaPath(RunCreatedLegacyDto) }, example: { runId: 'run_0193b2c4-7a1e-7c3d-9f00-123456789abc' } } },
    }),
    ApiResponse({
      status: 201,
      description: 'API version `2026-06-11`: the run was accepted; the body is the Run (status `pending`).',
      headers: { Location: { description: '`/api/runs/{id}`', schema: { type: 'string' } }, ...SUCCESS_HEADERS } as never,
      content: { 'application/json': { schema: { $ref: getSchemaPath(RunDto) } } },
    }),
    problems(400, 'Bad request: path, header, query, body or model (see `code` and `param`).', [
      { code: 'invalid_request', detail: 'scope must look like @acme (an @, then lowercase letters, digits or dashes; at most 128 characters).', param: 'scope' },
      { code: 'invalid_request', detail: 'version must be a version, a dist-tag or a semver range.', param: 'version' },
      { code: 'invalid_request', detail: 'Part notes is not a file field of this agent’s input.', param: 'notes' },
      { code: 'invalid_request', detail: 'The input part must hold a JSON object.', param: 'input' },
      { code: 'invalid_request', detail: 'The request body is not valid JSON.' },
      { code: 'validation_failed', detail: 'The run request failed validation; see errors.', errors: [{ field: 'input.ticket', code: 'invalid_input', message: "input.ticket must have required property 'ticket'" }] },
      { code: 'validation_failed', detail: 'The run request failed validation; see errors.', errors: [{ field: 'extra', code: 'unknown_field', message: 'extra is not a known field.' }] },
      { code: 'model_not_configured', detail: 'The agent asks for the model "fast", which this organization has not configured.' },
      { code: 'invalid_idempotency_key', detail: 'Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces or control characters).', param: 'Idempotency-Key' },
      { code: 'invalid_api_version', detail: 'Appstrate-Version must be a date written YYYY-MM-DD.', param: 'Appstrate-Version' },
      { code: 'unsupported_api_version', detail: 'Appstrate-Version names a version this service does not support (2026-03-21, 2026-06-11).', param: 'Appstrate-Version' },
      { code: 'invalid_end_user_id', detail: 'Appstrate-User must be an end-user id starting with eu_.', param: 'Appstrate-User' },
      { code: 'header_not_allowed', detail: 'Appstrate-User can only be used with an API key.', param: 'Appstrate-User' },
      { code: 'invalid_request', detail: 'Send the organization id in the X-Org-Id header.', param: 'X-Org-Id' },
    ], REFUSAL_HEADERS),
    problems(401, 'Missing, invalid or expired session or API key.', [
      { code: 'unauthorized', detail: 'Invalid or expired API key' },
      { code: 'unauthorized', detail: 'Invalid or missing session' },
    ], WWW_AUTHENTICATE),
    problems(403, 'Not a member, wrong organization, missing `agents:run`, or an unknown end-user.', [
      { code: 'forbidden', detail: 'This request requires the agents:run permission.' },
      { code: 'invalid_end_user', detail: 'Appstrate-User names no end-user of this organization.', param: 'Appstrate-User' },
    ], REFUSAL_HEADERS),
    problems(404, 'No such agent, version or model in the caller’s organization.', [
      { code: 'agent_not_found', detail: 'No agent @acme/triage in this organization.' },
      { code: 'agent_version_not_found', detail: 'No dist-tag named beta.' },
      { code: 'not_found', detail: 'modelId names no model of this organization.', param: 'modelId' },
    ], REFUSAL_HEADERS),
    problems(409, 'A request with this Idempotency-Key is still running.', [
      { code: 'idempotency_in_progress', detail: 'A request with this Idempotency-Key is still being processed. Retry shortly.', param: 'Idempotency-Key', retryAfter: 1 },
    ], { ...RATE_LIMIT_RESPONSE_HEADERS, ...RETRY_AFTER }),
    problems(413, 'A file over its field’s `maxSize` or the server limit, or too many parts.', [
      { code: 'payload_too_large', detail: 'A file in part attachment exceeds its limit of 5242880 bytes.', param: 'attachment' },
    ], REFUSAL_HEADERS),
    problems(415, 'A body that is neither JSON nor multipart/form-data, or has no Content-Type.', [
      { code: 'unsupported_media_type', detail: 'Send the run request as application/json or multipart/form-data.', param: 'Content-Type' },
    ], REFUSAL_HEADERS),
    problems(422, 'The Idempotency-Key was used for a different request.', [
      { code: 'idempotency_conflict', detail: 'This Idempotency-Key was already used for a different request (method, path, query, Appstrate-User or body). Use a new key.', param: 'Idempotency-Key' },
    ], REFUSAL_HEADERS),
    problems(429, 'Over the per-caller rate limit, or the organization has too many runs pending or running.', [
      { code: 'rate_limited', detail: 'Too many requests. Please try again shortly.', retryAfter: 12 },
      { code: 'org_run_concurrency_exceeded', detail: 'The organization already has 50 runs pending or running; retry when some have finished.', retryAfter: 5 },
    ], { ...RATE_LIMIT_RESPONSE_HEADERS, ...RETRY_AFTER }),
    problems(503, 'The queue (or another backing service) is unreachable; nothing was created.', [
      { code: 'service_unavailable', detail: 'The run queue is unreachable, so the run was not created. Please retry shortly.', retryAfter: 1 },
    ], { ...RATE_LIMIT_RESPONSE_HEADERS, ...RETRY_AFTER }),
  );
