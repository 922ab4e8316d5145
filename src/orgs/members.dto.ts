import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsIn, IsString, MaxLength } from 'class-validator';
import { ROLES, type Role } from '../auth/permissions.js';

export class AddMemberDto {
  @ApiProperty({ example: 'ada@example.com', description: 'An existing user’s email (they signed up already).', maxLength: 320 })
  @IsString() @MaxLength(320) @IsEmail()
  email: string;

  @ApiProperty({ enum: ROLES, description: 'Only an owner may grant `owner`.' })
  @IsIn(ROLES)
  role: Role;
}

export class UpdateMemberDto {
  @ApiProperty({ enum: ROLES, description: 'Only an owner may grant or take away `owner`; the last owner cannot be demoted.' })
  @IsIn(ROLES)
  role: Role;
}

export class MemberDto {
  @ApiProperty({ description: 'The user’s id (Better Auth).' }) userId: string;
  @ApiProperty() email: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ROLES }) role: Role;
  @ApiProperty({ format: 'date-time', description: 'When the user joined the organization.' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}
