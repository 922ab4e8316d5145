import { connect, type AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import supertest from 'supertest';
import type { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module.js';
import { configureApp, createHttpAdapter } from '../../src/app.setup.js';
import { AppLogger, createPinoLogger } from '../../src/common/logging/app-logger.js';
import type { AppConfig } from '../../src/config/app.config.js';
import { REDIS } from '../../src/redis/redis.module.js';
import { testConfig } from './test-env.js';

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  db: DataSource;
  redis: Redis;
  /** Every route registered on the HTTP server, as Fastify declared it (`url` with `:params`). */
  routes: Array<{ method: string; url: string }>;
  /** A fresh supertest client (no cookies). */
  request: () => supertest.Agent;
  /** The port the HTTP server listens on (on loopback, from the first call), for raw sockets and plain `http` clients. */
  port: () => Promise<number>;
  close: () => Promise<void>;
}

/**
 * Writes `bytes` to a new connection as they are and returns all the server answered until it
 * closed the connection: the last request must say `Connection: close`. (The connection is not
 * half-closed: Node's server would drop the requests it has not answered yet.)
 */
export async function exchangeRaw(t: TestApp, bytes: string): Promise<string> {
  const socket = connect(await t.port(), '127.0.0.1');
  socket.write(bytes);
  let raw = '';
  for await (const chunk of socket) raw += chunk;
  return raw;
}

/**
 * Boots the real AppModule (real PostgreSQL, real Redis) with the shared HTTP wiring.
 * `logs` receives the JSON log lines (LOG_LEVEL in `overrides` sets what is written).
 */
export async function startApp(overrides: Record<string, string> = {}, { logs }: { logs?: DestinationStream } = {}): Promise<TestApp> {
  const config = testConfig(overrides);
  const pino = createPinoLogger(config.log.level, logs);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
    .setLogger(new AppLogger(pino))
    .compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createHttpAdapter(), { bodyParser: false });
  const routes: TestApp['routes'] = [];
  app.getHttpAdapter().getInstance().addHook('onRoute', ({ method, url }) => {
    for (const m of ([] as string[]).concat(method)) routes.push({ method: m, url });
  });
  configureApp(app, pino);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const server = app.getHttpServer();
  return {
    app,
    config,
    db: app.get<DataSource>(getDataSourceToken()),
    redis: app.get<Redis>(REDIS),
    routes,
    request: () => supertest.agent(server),
    port: async () => {
      if (!server.listening) await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
      return (server.address() as AddressInfo).port;
    },
    close: () => app.close(),
  };
}
