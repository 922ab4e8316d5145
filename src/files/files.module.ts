import { Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app.config.js';
import { FILE_STORAGE } from './file-storage.js';
import { LocalFileStorage } from './local-file-storage.js';
import { StagingJanitor } from './staging.janitor.js';

/** Provides the FileStorage (`FILE_STORAGE`); swap the factory to use another store. */
@Module({
  providers: [
    {
      provide: FILE_STORAGE,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => {
        const storage = new LocalFileStorage(config.files.storageDir);
        await storage.init();
        return storage;
      },
    },
    StagingJanitor,
  ],
  exports: [FILE_STORAGE],
})
export class FilesModule {}
