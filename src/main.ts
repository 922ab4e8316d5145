import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { configureApp, createHttpAdapter } from './app.setup.js';
import { AppLogger, createPinoLogger } from './common/logging/app-logger.js';
import { armShutdownDeadline } from './common/shutdown-deadline.js';
import { ConfigError, loadConfig, type AppConfig } from './config/app.config.js';
import { checkDependencies } from './database/dependencies.js';
import { migrateDatabase } from './database/migrate.js';

if (existsSync('.env')) process.loadEnvFile('.env');

async function bootstrap(config: AppConfig): Promise<void> {
  const pino = createPinoLogger(config.log.level);
  await checkDependencies(config);
  if (config.database.migrationsRun) await migrateDatabase(config);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createHttpAdapter(), {
    bodyParser: false,
    logger: new AppLogger(pino),
  });
  configureApp(app, pino);
  armShutdownDeadline(config.shutdownTimeoutSeconds * 1000, () => {
    pino.error({ timeoutSeconds: config.shutdownTimeoutSeconds }, 'graceful shutdown did not finish in time; exiting');
    process.exit(1);
  });
  if (config.worker.role === 'worker') {
    await app.init();
    pino.info({ role: config.worker.role }, 'worker started');
    return;
  }
  await app.listen(config.http.port, '0.0.0.0');
  const url = `http://localhost:${config.http.port}`;
  pino.info({ role: config.worker.role, url, docs: `${url}/api/docs` }, 'listening');
  process.stdout.write(`\nAgent Run API listening on ${url}\nSwagger UI: ${url}/api/docs\n\n`);
}

try {
  await bootstrap(loadConfig());
} catch (err) {
  const message = err instanceof ConfigError || (err as { startup?: boolean }).startup ? (err as Error).message : String((err as Error)?.stack ?? err);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
