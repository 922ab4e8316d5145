import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { IsMetadata, METADATA_SCHEMA } from '../common/validation/metadata.js';

export class CreateEndUserDto {
  @ApiPropertyOptional({ type: String, nullable: true, example: 'customer-42', minLength: 1, maxLength: 255, description: 'Your own id for this person; unique in the organization.' })
  @IsOptional() @IsString() @Length(1, 255)
  externalId?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'Ada Lovelace', minLength: 1, maxLength: 200 })
  @IsOptional() @IsString() @Length(1, 200)
  name?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'ada@example.com', maxLength: 320 })
  @IsOptional() @IsString() @MaxLength(320) @IsEmail()
  email?: string | null;

  @ApiPropertyOptional({ ...METADATA_SCHEMA, nullable: true })
  @IsOptional() @IsMetadata()
  metadata?: Record<string, string> | null;
}

export class EndUserDto {
  @ApiProperty({ example: 'eu_0193a0c1-7b2e-7cc1-9a51-3f1e2d4c5b6a' }) id: string;
  @ApiProperty({ type: String, nullable: true }) externalId: string | null;
  @ApiProperty({ type: String, nullable: true }) name: string | null;
  @ApiProperty({ type: String, nullable: true }) email: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) metadata: Record<string, string>;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}
