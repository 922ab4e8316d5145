import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ProblemException } from '../common/problem/problem.exception.js';
import { AUTH_OPTIONS, type AuthOptions } from './auth.decorators.js';

/**
 * The route's `@Auth({ permission })`, checked after the API version is resolved: a missing
 * permission is a refusal *after* authentication, so it carries `Appstrate-Version` like any
 * later error (API.md section 1), and the run route's order (version before permission) holds.
 */
@Injectable()
export class PermissionGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const options = this.reflector.getAllAndOverride<AuthOptions | undefined>(AUTH_OPTIONS, [context.getHandler(), context.getClass()]);
    const principal = context.switchToHttp().getRequest<FastifyRequest>().context.principal;
    if (!options?.permission || !principal) return true;
    if (!principal.permissions.has(options.permission)) {
      throw new ProblemException('forbidden', `This request requires the ${options.permission} permission.`);
    }
    return true;
  }
}
