import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ANY_JSON } from '../common/openapi/openapi.js';
import { METADATA_SCHEMA } from '../common/validation/metadata.js';
import { RUN_STATUSES } from './run.entity.js';

/*
 * OpenAPI shapes of the run routes. The run endpoint parses its own body (JSON or multipart,
 * API.md section 5), so these classes document; they are not validated by the global pipe.
 */

export class RunAgentDto {
  @ApiProperty({ example: '@acme' }) scope: string;
  @ApiProperty({ example: 'triage' }) name: string;
  @ApiProperty({ type: String, nullable: true, example: '1.2.0', description: 'The semver that ran; null for the live agent.' })
  version: string | null;
  @ApiProperty({ example: '1.2.0', description: 'The semver, or `draft` for the live agent.' }) ref: string;
}

export class RunFileDto {
  @ApiProperty({ example: 'file_0193b2c4-…' }) id: string;
  @ApiProperty({ example: 'attachment', description: 'The input field the file fills.' }) field: string;
  @ApiProperty({ example: 'a.pdf' }) filename: string;
  @ApiProperty({ example: 'application/pdf', description: 'The type its bytes reveal, else its extension implies, else the declared one.' })
  contentType: string;
  @ApiProperty({ type: 'integer', example: 1234 }) size: number;
  @ApiProperty({ example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }) sha256: string;
}

export class RunResultDto {
  @ApiProperty({ ...ANY_JSON, description: 'Parsed JSON when the agent has an output schema, else the model’s text (a string).' }) output: unknown;
}

export class RunTriggeredByDto {
  @ApiProperty({ enum: ['user', 'api_key', 'end_user'] }) type: string;
  @ApiProperty({ description: 'The signed-in user, or the user who created the API key.' }) userId: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) apiKeyId: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'eu_0193…' }) endUserId: string | null;
}

export class RunUsageDto {
  @ApiProperty({ type: 'integer', example: 0 }) inputTokens: number;
  @ApiProperty({ type: 'integer', example: 0 }) outputTokens: number;
}

export class RunDto {
  @ApiProperty({ enum: ['run'] }) object: 'run';
  @ApiProperty({ example: 'run_0193b2c4-7a1e-7c3d-9f00-123456789abc' }) id: string;
  @ApiProperty({ enum: RUN_STATUSES }) status: string;
  @ApiProperty({ type: RunAgentDto }) agent: RunAgentDto;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { ticket: 'Printer on fire', attachment: 'file://file_0193b2c4-…' },
    description: 'The input as accepted; file fields hold `file://file_…` references to `files`.',
  })
  input: Record<string, unknown>;
  @ApiProperty({ type: [RunFileDto] }) files: RunFileDto[];
  @ApiProperty({ type: RunResultDto, nullable: true }) result: RunResultDto | null;
  @ApiProperty({ type: String, nullable: true, description: 'Human-readable error.' }) error: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'model_error' }) errorCode: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) metadata: Record<string, string>;
  @ApiProperty({ example: 'gpt-4o-mini', description: 'The model string sent to the provider.' }) model: string;
  @ApiProperty({ example: '2026-06-11', description: 'The API version the run was created with.' }) apiVersion: string;
  @ApiProperty({ type: RunTriggeredByDto }) triggeredBy: RunTriggeredByDto;
  @ApiProperty({ type: RunUsageDto }) usage: RunUsageDto;
  @ApiProperty({ type: Number, nullable: true, description: 'US dollars, when the model declares prices.' }) cost: number | null;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Milliseconds; never null once the run is terminal. At most 2147483647 (a run that waited over 24.8 days shows that).' })
  duration: number | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt: string | null;
}

/** The 2026-03-21 answer of the run endpoint. */
export class RunCreatedLegacyDto {
  @ApiProperty({ example: 'run_0193b2c4-7a1e-7c3d-9f00-123456789abc' }) runId: string;
}

/** The JSON request body of the run endpoint. */
export class CreateRunJsonDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Validated against the agent’s input schema. File fields cannot be filled here (use multipart).',
    example: { ticket: 'Printer on fire' },
  })
  input?: Record<string, unknown>;

  @ApiPropertyOptional({ format: 'uuid', description: 'One of the organization’s models; overrides the manifest’s `model`.' })
  modelId?: string;

  @ApiPropertyOptional({ ...METADATA_SCHEMA, example: { ticketId: 'T-1042' } })
  metadata?: Record<string, string>;
}
