import { Global, Inject, Module, type DynamicModule } from '@nestjs/common';
import { loadConfig, type AppConfig } from './app.config.js';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Injects the typed, validated configuration: `@InjectConfig() config: AppConfig`. */
export const InjectConfig = () => Inject(APP_CONFIG);

@Global()
@Module({})
export class ConfigModule {
  /** `config` lets tests boot the app with settings of their own; by default the environment is read. */
  static forRoot(config: AppConfig = loadConfig()): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: APP_CONFIG, useValue: config }], exports: [APP_CONFIG] };
  }
}
