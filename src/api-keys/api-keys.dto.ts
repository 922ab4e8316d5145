import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsISO8601, IsOptional, IsString, Length } from 'class-validator';
import { API_KEY_PERMISSIONS } from '../auth/permissions.js';
import { IsOptionalNotNull } from '../common/validation/optional.js';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'CI pipeline', minLength: 1, maxLength: 100 })
  @IsString() @Length(1, 100)
  name: string;

  @ApiPropertyOptional({
    type: [String],
    enum: [...API_KEY_PERMISSIONS],
    minItems: 1,
    maxItems: 32,
    description: 'Defaults to every permission a key may hold that you have. Effective permissions are these scopes intersected with your current role.',
  })
  @IsOptionalNotNull() @IsArray() @ArrayMaxSize(32) @IsString({ each: true })
  scopes?: string[];

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true, description: 'When the key stops working; must be in the future. Omit or null: never.' })
  @IsOptional() @IsISO8601({ strict: true })
  expiresAt?: string | null;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ example: 'ask_1a2b3c4d', description: 'The first characters of the key, to tell keys apart.' }) keyPrefix: string;
  @ApiProperty({ type: [String] }) scopes: string[];
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastUsedAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ example: 'ask_3f…', description: 'The plaintext key. Shown only in this response; store it now.' })
  key: string;
}
