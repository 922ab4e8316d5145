import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ModelConfig } from './model-config.entity.js';
import { ModelsService } from './models.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([ModelConfig])],
  providers: [ModelsService],
  exports: [ModelsService],
})
export class ModelsModule {}
