import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsNumber, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { IsOptionalNotNull } from '../common/validation/optional.js';

const PRICE = { minimum: 0, maximum: 1_000_000, description: 'US dollars per million tokens; used to compute a run’s cost.' };

export class CreateModelDto {
  @ApiProperty({ example: 'fast', minLength: 1, maxLength: 100, description: 'Unique in the organization; agent manifests name models by it.' })
  @IsString() @Length(1, 100) @Matches(/^\S(.*\S)?$/, { message: 'name must not start or end with whitespace' })
  name: string;

  @ApiProperty({
    example: 'http://127.0.0.1:11434/v1',
    maxLength: 2048,
    description:
      'An OpenAI-compatible API root (the service calls `{baseUrl}/chat/completions`): http(s), no credentials, query or fragment. ' +
      'Private-network hosts are allowed unless the operator sets ALLOW_PRIVATE_MODEL_URLS=false.',
  })
  @IsString() @Length(1, 2048)
  baseUrl: string;

  @ApiProperty({ example: 'sk-…', minLength: 1, maxLength: 4096, writeOnly: true, description: 'Stored encrypted (AES-256-GCM); never returned.' })
  @IsString() @Length(1, 4096)
  apiKey: string;

  @ApiProperty({ example: 'gpt-4o-mini', minLength: 1, maxLength: 200, description: 'The model string sent to the provider.' })
  @IsString() @Length(1, 200)
  model: string;

  @ApiPropertyOptional({ default: false, description: 'Make this the organization’s default model (the previous default stops being one).' })
  @IsOptionalNotNull() @IsBoolean()
  isDefault?: boolean;

  @ApiPropertyOptional({ ...PRICE, type: Number, nullable: true })
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) @Max(1_000_000)
  inputPricePerMTok?: number | null;

  @ApiPropertyOptional({ ...PRICE, type: Number, nullable: true })
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) @Max(1_000_000)
  outputPricePerMTok?: number | null;
}

export class ModelDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() baseUrl: string;
  @ApiProperty({ description: 'The model string sent to the provider.' }) model: string;
  @ApiProperty() isDefault: boolean;
  @ApiProperty({ type: Number, nullable: true }) inputPricePerMTok: number | null;
  @ApiProperty({ type: Number, nullable: true }) outputPricePerMTok: number | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}
