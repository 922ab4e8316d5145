import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { IsObject, IsString, Length, Matches, MaxLength, ValidateIf } from 'class-validator';
import { MAX_NAME_LENGTH, MAX_SCOPE_LENGTH, NAME_PATTERN, SCOPE_PATTERN } from '../catalog/agent-path.js';
import type { AgentManifest } from '../catalog/manifest.js';
import { MAX_TIMEOUT_SECONDS } from '../catalog/manifest.js';
import { MAX_VERSION_LENGTH } from '../catalog/semver-rules.js';

export const MAX_PROMPT_LENGTH = 200_000;

// ---- The manifest, for OpenAPI. It is validated by the catalogue (manifest-validator), which
// ---- also refuses unknown keys at every level shown here.

export class FileConstraintDto {
  @ApiPropertyOptional({
    example: '.pdf,image/*',
    description: 'Comma-separated file extensions (`.pdf`) and MIME types (`image/png`, `image/*`, `*/*`). Defaults to the field’s `contentMediaType`.',
  })
  accept?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, example: 5242880, description: 'Largest accepted file, in bytes.' })
  maxSize?: number;
}

@ApiExtraModels(FileConstraintDto)
export class ManifestInputDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'JSON Schema 2020-12 of the run input. It must compile with Ajv (2020 dialect, `ajv-formats`) in strict mode: unknown keywords, invalid regular expressions and remote `$ref`s are refused; `format` is asserted for the formats `ajv-formats` knows, other formats are annotations. Patterns (`pattern`, `patternProperties`) must run in time linear in the value, so no input can make one backtrack for long: they run in V8’s linear-time engine (where a character outside the Basic Multilingual Plane counts as two for `.` and classes); one that engine cannot run — a counted repetition above `{16}`, `\\p{…}` — is accepted only without `*`, `+`, `{n,}` or a quantified group and with at most 256 choices in all (`^[a-z0-9-]{1,63}$` is fine, `^.{1,1000}$` is not: use `maxLength`); backreferences and lookaround are refused. A top-level property with `format: "uri"` and a `contentMediaType` (or an array whose `items` is one) is a **file field**, filled by a multipart file part.',
    example: {
      type: 'object',
      properties: {
        ticket: { type: 'string' },
        attachment: { type: 'string', format: 'uri', contentMediaType: 'application/pdf' },
      },
      required: ['ticket'],
    },
  })
  schema?: Record<string, unknown> | boolean;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(FileConstraintDto) },
    description: 'Per file field: which files it accepts and how large. Each key must name a file field.',
    example: { attachment: { accept: '.pdf', maxSize: 5242880 } },
  })
  fileConstraints?: Record<string, FileConstraintDto>;
}

export class ManifestOutputDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'JSON Schema 2020-12 the output must match (same rules as the input schema). Without it the output is the model’s text.',
    example: { type: 'object', properties: { priority: { enum: ['low', 'high'] } } },
  })
  schema?: Record<string, unknown> | boolean;
}

export class AgentManifestDto {
  @ApiPropertyOptional({ example: 'Triage a support ticket' })
  description?: string;

  @ApiPropertyOptional({
    example: 'fast',
    maxLength: 200,
    description: 'Name of one of the organization’s models, looked up when a run starts. Absent: the organization’s default model.',
  })
  model?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_SECONDS, default: 300, description: 'A run taking longer ends as `timeout`.' })
  timeoutSeconds?: number;

  @ApiPropertyOptional({ type: () => ManifestInputDto })
  input?: ManifestInputDto;

  @ApiPropertyOptional({ type: () => ManifestOutputDto })
  output?: ManifestOutputDto;
}

const MANIFEST_DOC = 'The agent manifest. Unknown keys, invalid schemas, a bad timeout or a `fileConstraints` entry for a field that is not a file field are refused with 400 `validation_failed`, `errors[].field` pointing into `manifest`.';

// ---- Requests

export class CreateAgentDto {
  @ApiProperty({ example: '@acme', pattern: SCOPE_PATTERN.source, maxLength: MAX_SCOPE_LENGTH })
  @IsString() @MaxLength(MAX_SCOPE_LENGTH) @Matches(SCOPE_PATTERN, { message: 'scope must be @ followed by lowercase letters, digits or dashes' })
  scope: string;

  @ApiProperty({ example: 'triage', pattern: NAME_PATTERN.source, maxLength: MAX_NAME_LENGTH })
  @IsString() @MaxLength(MAX_NAME_LENGTH) @Matches(NAME_PATTERN, { message: 'name must be lowercase letters, digits or dashes' })
  name: string;

  @ApiProperty({ type: () => AgentManifestDto, description: MANIFEST_DOC })
  @IsObject({ message: 'manifest must be an object' })
  manifest: Record<string, unknown>;

  @ApiProperty({ example: 'You triage support tickets. Answer with a priority.', minLength: 1, maxLength: MAX_PROMPT_LENGTH })
  @IsString() @Length(1, MAX_PROMPT_LENGTH)
  prompt: string;
}

export class UpdateAgentDto {
  @ApiPropertyOptional({ type: () => AgentManifestDto, description: `Replaces the live manifest. ${MANIFEST_DOC}` })
  @ValidateIf((o: UpdateAgentDto) => o.manifest !== undefined) @IsObject({ message: 'manifest must be an object' })
  manifest?: Record<string, unknown>;

  @ApiPropertyOptional({ minLength: 1, maxLength: MAX_PROMPT_LENGTH, description: 'Replaces the live prompt.' })
  @ValidateIf((o: UpdateAgentDto) => o.prompt !== undefined) @IsString() @Length(1, MAX_PROMPT_LENGTH)
  prompt?: string;
}

export class PublishVersionDto {
  @ApiProperty({
    example: '1.2.0',
    maxLength: MAX_VERSION_LENGTH,
    description: 'A semantic version (no leading `v`), greater than every version published so far, yanked ones included (409 `conflict` otherwise).',
  })
  @IsString() @MaxLength(MAX_VERSION_LENGTH)
  version: string;

  @ApiPropertyOptional({ type: () => AgentManifestDto, description: `Defaults to the live manifest. ${MANIFEST_DOC}` })
  @ValidateIf((o: PublishVersionDto) => o.manifest !== undefined) @IsObject({ message: 'manifest must be an object' })
  manifest?: Record<string, unknown>;

  @ApiPropertyOptional({ minLength: 1, maxLength: MAX_PROMPT_LENGTH, description: 'Defaults to the live prompt.' })
  @ValidateIf((o: PublishVersionDto) => o.prompt !== undefined) @IsString() @Length(1, MAX_PROMPT_LENGTH)
  prompt?: string;
}

export class SetDistTagDto {
  @ApiProperty({ example: '1.2.0', description: 'A published, non-yanked version (409 `conflict` otherwise).' })
  @IsString() @MaxLength(256)
  version: string;
}

// ---- Responses

export class AgentDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: '@acme' }) scope: string;
  @ApiProperty({ example: 'triage' }) name: string;
  @ApiProperty({ type: () => AgentManifestDto, description: 'The live manifest.' }) manifest: AgentManifest;
  @ApiProperty({ description: 'The live prompt.' }) prompt: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, example: { latest: '1.2.0', beta: '2.0.0-beta.1' }, description: 'dist-tag → version.' })
  distTags: Record<string, string>;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class AgentVersionSummaryDto {
  @ApiProperty({ example: '1.2.0' }) version: string;
  @ApiProperty({ description: 'Skipped by ranges and dist-tags; an exact pin still runs it.' }) yanked: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: [String], example: ['latest'], description: 'The dist-tags pointing at this version.' }) tags: string[];
}

export class AgentVersionDto extends AgentVersionSummaryDto {
  @ApiProperty({ type: () => AgentManifestDto }) manifest: AgentManifest;
  @ApiProperty() prompt: string;
}

export class DistTagDto {
  @ApiProperty({ example: 'beta' }) tag: string;
  @ApiProperty({ example: '2.0.0-beta.1' }) version: string;
}
