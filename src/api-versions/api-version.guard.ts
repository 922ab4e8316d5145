import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InjectConfig } from '../config/config.module.js';
import type { AppConfig } from '../config/app.config.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { checkApiVersion, type ApiVersion } from './api-version.js';

/**
 * Resolves the API version of an authenticated request (header > org pin > platform default)
 * right after authentication, and echoes it on the response from then on, errors included.
 */
@Injectable()
export class ApiVersionGuard implements CanActivate {
  constructor(@InjectConfig() private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const principal = req.context.principal;
    if (!principal) return true; // public route
    const header = req.headers['appstrate-version'];
    let version: ApiVersion;
    if (header !== undefined) {
      const result = checkApiVersion(Array.isArray(header) ? header.join(',') : header.trim());
      if (!result.ok) {
        throw new ProblemException(
          result.code,
          result.code === 'invalid_api_version'
            ? 'Appstrate-Version must be a date written YYYY-MM-DD.'
            : 'Appstrate-Version names a version this service does not support (2026-03-21, 2026-06-11).',
          { param: 'Appstrate-Version' },
        );
      }
      version = result.version;
    } else {
      const pinned = principal.orgApiVersion ? checkApiVersion(principal.orgApiVersion) : null;
      version = pinned?.ok ? pinned.version : (this.config.apiVersions.default as ApiVersion);
    }
    req.context.apiVersion = version;
    context.switchToHttp().getResponse<FastifyReply>().raw.setHeader('Appstrate-Version', version);
    return true;
  }
}
