import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { newRequestId } from '../common/ids.js';
import { problemBody, problemHeaders } from '../common/problem/problem-response.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import type { AppConfig } from '../config/app.config.js';
import { InjectConfig } from '../config/config.module.js';
import { HealthService } from './health.service.js';

const ROUTES = new Set(['/health', '/ready']);

/**
 * A worker-only process (PROCESS_ROLE=worker) serves no API, but an orchestrator still needs to
 * probe it: with `WORKER_HEALTH_PORT` set, a bare `node:http` server answers `GET /health` and
 * `GET /ready` exactly as the API's routes do, and nothing else (404 / 405 problem+json).
 */
@Injectable()
export class WorkerHealthServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerHealthServer.name);
  private server: Server | null = null;

  constructor(
    private readonly health: HealthService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** The port it listens on; null when it does not. */
  get port(): number | null {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { role, healthPort } = this.config.worker;
    if (role !== 'worker' || healthPort === null) return;
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: Error) => reject(Object.assign(new Error(`WORKER_HEALTH_PORT ${healthPort}: ${err.message}`), { startup: true })));
      server.listen(healthPort, '0.0.0.0', resolve);
    });
    this.server = server;
    this.logger.log({ msg: 'worker health probe listening', port: this.port });
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const path = (req.url ?? '/').split('?')[0].replace(/(.)\/$/, '$1');
    let status = 200;
    let headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8' };
    let body: unknown;
    try {
      if (!ROUTES.has(path)) throw new ProblemException('not_found', 'A worker process serves only GET /health and GET /ready.');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new ProblemException('method_not_allowed', `${path} answers GET only.`, { headers: { Allow: 'GET, HEAD' } });
      }
      body = path === '/health' ? { status: 'ok' } : await this.health.ready();
    } catch (err) {
      if (!(err instanceof ProblemException)) this.logger.error({ err, msg: 'worker health probe failed' });
      const problem = err instanceof ProblemException ? err : new ProblemException('internal_error', 'The probe failed.');
      status = problem.status;
      headers = problemHeaders(problem);
      body = problemBody(problem, requestId);
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(text), 'Request-Id': requestId });
    res.end(req.method === 'HEAD' ? undefined : text);
  }
}
