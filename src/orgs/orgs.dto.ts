import { ApiParam, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';
import { SUPPORTED_API_VERSIONS } from '../api-versions/api-version.js';
import { IsOptionalNotNull } from '../common/validation/optional.js';

/** The `{orgId}` path parameter of the organization routes. */
export const ApiOrgIdParam = () => ApiParam({ name: 'orgId', schema: { type: 'string', format: 'uuid' } });

export class CreateOrgDto {
  @ApiProperty({ example: 'Acme Inc.', minLength: 1, maxLength: 100 })
  @IsString() @Length(1, 100)
  name: string;

  @ApiProperty({ example: 'acme', pattern: '^[a-z0-9][a-z0-9-]{1,62}$', description: 'Unique across the platform.' })
  @IsString() @Matches(/^[a-z0-9][a-z0-9-]{1,62}$/, { message: 'slug must be 2-63 lowercase letters, digits or dashes' })
  slug: string;
}

export class UpdateOrgDto {
  @ApiPropertyOptional({ example: 'Acme Inc.', minLength: 1, maxLength: 100 })
  @IsOptionalNotNull() @IsString() @Length(1, 100)
  name?: string;

  @ApiPropertyOptional({ enum: SUPPORTED_API_VERSIONS, description: 'Pins the API version used when a request sends no Appstrate-Version.' })
  @IsOptionalNotNull() @IsString()
  apiVersion?: string;
}

export class OrgDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() slug: string;
  @ApiProperty({ enum: SUPPORTED_API_VERSIONS }) apiVersion: string;
  @ApiProperty({ enum: ['owner', 'admin', 'member', 'viewer'], description: 'The caller’s role.' }) role: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

