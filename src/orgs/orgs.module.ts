import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { Member } from './member.entity.js';
import { MembersController } from './members.controller.js';
import { MembersService } from './members.service.js';
import { MembershipsService } from './memberships.service.js';
import { Organization } from './organization.entity.js';
import { OrgsController } from './orgs.controller.js';
import { OrgsService } from './orgs.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Organization, Member]), ApiKeysModule],
  controllers: [OrgsController, MembersController],
  providers: [MembershipsService, MembersService, OrgsService],
  exports: [MembershipsService],
})
export class OrgsModule {}
