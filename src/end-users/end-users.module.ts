import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EndUser } from './end-user.entity.js';
import { EndUsersController } from './end-users.controller.js';
import { EndUsersService } from './end-users.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([EndUser])],
  controllers: [EndUsersController],
  providers: [EndUsersService],
  exports: [EndUsersService],
})
export class EndUsersModule {}
