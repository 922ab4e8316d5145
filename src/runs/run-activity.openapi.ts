import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiProperty, ApiQuery, getSchemaPath } from '@nestjs/swagger';
import { ANY_JSON } from '../common/openapi/openapi.js';
import { ApiProblem } from '../common/openapi/api-problem.decorator.js';
import { ListEnvelopeDto } from '../common/http/pagination.js';
import { MAX_LOGS_PAGE } from './run-logs.service.js';
import { MAX_WAIT_SECONDS } from './run-stream.service.js';
import { RunDto } from './runs.dto.js';

/*
 * OpenAPI for the routes that follow and control a run once accepted: `?wait=`, cancel, logs
 * and the event stream (API.md sections 6 and 7).
 */

export class RunLogEntryDto {
  @ApiProperty({ type: 'integer', example: 42, description: 'Ascending within a run; `since` and `Last-Event-ID` take it.' }) id: number;
  @ApiProperty({ enum: ['system', 'progress', 'result'] }) type: string;
  @ApiProperty({
    example: 'progress',
    description:
      '`system`: `run_started`, `run_resumed`, `adapter_error` (a failed model call), `run_failed`, `run_timeout`, `run_cancelled`, `worker_lost`; ' +
      '`progress`: `progress` (one per model call attempt); `result`: `output` (last entry of every successful run).',
  })
  event: string;
  @ApiProperty({ enum: ['debug', 'info', 'warn', 'error'] }) level: string;
  @ApiProperty({ example: 'Calling the model (attempt 1 of 3).' }) message: string;
  @ApiProperty({ ...ANY_JSON, description: 'Details (`{}` when there are none); for `result/output`, the run’s output itself.', example: { attempt: 1 } })
  data: unknown;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

const RUN_ID = ApiParam({ name: 'runId', schema: { type: 'string', example: 'run_0193b2c4-7a1e-7c3d-9f00-123456789abc' } });

export const ApiRunWaitQuery = () =>
  ApiQuery({
    name: 'wait',
    required: false,
    description: `Hold the request until the run is terminal or this many seconds (1..${MAX_WAIT_SECONDS}) have passed, then answer with the run as it is (also earlier, when the server shuts down). Anything else → 400 \`invalid_request\`, \`param: "wait"\`.`,
    schema: { type: 'integer', minimum: 1, maximum: MAX_WAIT_SECONDS },
  });

export const ApiCancelRun = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Cancel a run',
      description:
        'A pending run is marked `cancelled` and never starts. A running run is marked `cancelled` at once and the worker executing it, in whichever process, ' +
        'is signalled through Redis and aborts its model call within about a second. Answers 200 with the Run (`status: "cancelled"`, ' +
        '`errorCode: "cancelled"`, `error: "Run cancelled"`). A run that has already ended → 409 `run_not_cancellable`.',
    }),
    RUN_ID,
    ApiOkResponse({ type: RunDto }),
    ApiProblem(404, 'No such run for this caller (another organization’s, or another end-user’s under `Appstrate-User`)', 'run_not_found'),
    ApiProblem(409, 'The run has already ended', 'run_not_cancellable'),
  );

export const ApiRunLogs = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Read a run’s log',
      description:
        `Log entries with an id above \`since\`, oldest first, at most \`limit\` (1..${MAX_LOGS_PAGE}, default ${MAX_LOGS_PAGE}). ` +
        'When `hasMore` is true, `nextCursor` is the id to pass as `since` (or as `cursor`, like every collection) for the next page; a `cursor` wins over `since`. A malformed `since`, `cursor` or `limit` → 400 `invalid_request` naming it.',
    }),
    RUN_ID,
    ApiQuery({ name: 'since', required: false, description: 'Only entries with a greater id.', schema: { type: 'integer', minimum: 0, default: 0 } }),
    ApiQuery({ name: 'cursor', required: false, description: 'The `nextCursor` of the previous page (the same as `since`).', schema: { type: 'string', pattern: '^\\d{1,15}$' } }),
    ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: MAX_LOGS_PAGE, default: MAX_LOGS_PAGE } }),
    ApiExtraModels(ListEnvelopeDto, RunLogEntryDto),
    ApiOkResponse({
      description: 'A page of log entries, oldest first.',
      schema: {
        allOf: [
          { $ref: getSchemaPath(ListEnvelopeDto) },
          { type: 'object', required: ['data'], properties: { data: { type: 'array', items: { $ref: getSchemaPath(RunLogEntryDto) } } } },
        ],
      },
    }),
    ApiProblem(404, 'No such run for this caller', 'run_not_found'),
  );

const STREAM_DOC = `Server-Sent Events (\`text/event-stream\`) following one run. Events, in order:

- \`event: status\` — on connect, the current Run (JSON, as \`GET /api/runs/{runId}\`), then again on every status change.
- \`event: log\` — each log entry (JSON, as in \`GET /api/runs/{runId}/logs\`), with \`id:\` = the entry's id. On connect, the entries written so far are sent (only those after \`Last-Event-ID\` when the header is given, so a reconnecting client resumes where it stopped), then new ones as they are written.
- \`event: done\` — after the terminal \`status\`; data: the terminal Run. The server then closes the stream. A run that is already terminal gets \`status\`, its log, and \`done\` at once.

A comment line (\`: keep-alive\`) is sent every 15 s (\`SSE_KEEP_ALIVE_SECONDS\`) while the run is live. Events reach every API process through Redis, whichever worker executes the run. Problems found before the stream starts (401, 403, 404 \`run_not_found\`, 503 while Redis is unreachable) are ordinary problem+json answers. When the server shuts down it ends open streams without \`done\`: reconnect with \`Last-Event-ID\` (an EventSource does so by itself).

Example:

\`\`\`
event: status
data: {"object":"run","id":"run_…","status":"running",…}

id: 7
event: log
data: {"id":7,"type":"progress","event":"progress","level":"info","message":"Calling the model (attempt 1 of 3).",…}

id: 8
event: log
data: {"id":8,"type":"result","event":"output","level":"info","message":"Run succeeded.","data":{"priority":"high"},…}

event: status
data: {"object":"run","id":"run_…","status":"success",…}

event: done
data: {"object":"run","id":"run_…","status":"success",…}
\`\`\``;

export const ApiRunEvents = () =>
  applyDecorators(
    ApiOperation({ summary: 'Follow a run (Server-Sent Events)', description: STREAM_DOC }),
    RUN_ID,
    ApiHeader({
      name: 'Last-Event-ID',
      required: false,
      description: 'The `id:` of the last log event received: only later entries are sent (an EventSource sends it when it reconnects).',
      schema: { type: 'integer', minimum: 0 },
    }),
    ApiProduces('text/event-stream'),
    ApiOkResponse({
      description: 'The event stream (see the operation description for the events).',
      content: { 'text/event-stream': { schema: { type: 'string', example: 'event: status\ndata: {"object":"run",…}\n\n' } } },
    }),
    ApiProblem(404, 'No such run for this caller', 'run_not_found'),
    ApiProblem(503, 'Live events cannot be followed right now (Redis did not confirm the subscription within 3 s); retry, or poll the run', 'service_unavailable'),
  );
