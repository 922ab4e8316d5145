import { applyDecorators, createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiExtension, ApiHeader } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { Permission } from './permissions.js';
import type { OrgPrincipal, Principal } from './principal.js';

export const AUTH_OPTIONS = 'auth:options';
export const IS_PUBLIC = 'auth:public';

export interface AuthOptions {
  /** Where the organization comes from: `X-Org-Id` (or the key's org), the `:orgId` path param, or nowhere. */
  org?: 'header' | 'path' | 'none';
  /** Refuse API keys (403): the route is for people signed in with a session. */
  sessionOnly?: boolean;
  /** Checked by the guard; omit when the service checks it in a documented order (the run route). */
  permission?: Permission;
}

/** The route needs no credentials (health, docs). Everything else is authenticated. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * Enforces and documents how a route is authenticated. Routes without it are treated as
 * `@Auth()` (authenticated, org-scoped) by the global guard: deny by default.
 */
export function Auth(options: AuthOptions = {}) {
  const org = options.org ?? 'header';
  const decorators = [SetMetadata(AUTH_OPTIONS, { ...options, org }), ApiCookieAuth('session')];
  if (!options.sessionOnly) decorators.push(ApiBearerAuth('apiKey'));
  if (org === 'header') {
    decorators.push(
      ApiHeader({
        name: 'X-Org-Id',
        // A session-only route always needs it; elsewhere an API key implies its organization.
        required: !!options.sessionOnly,
        description: options.sessionOnly
          ? 'Organization to act in (UUID).'
          : 'Organization to act in (UUID). Required with a session cookie; with an API key the key’s organization is used.',
        schema: { type: 'string', format: 'uuid' },
      }),
    );
    if (!options.sessionOnly) {
      decorators.push(
        ApiHeader({
          name: 'Appstrate-User',
          required: false,
          description: 'API keys only: act on behalf of an end-user of the key’s organization (`eu_…`).',
          schema: { type: 'string', pattern: '^eu_' },
        }),
      );
    }
  }
  decorators.push(
    ApiHeader({
      name: 'Appstrate-Version',
      required: false,
      description: 'API version (YYYY-MM-DD). Defaults to the organization’s pinned version, else the platform default.',
      schema: { type: 'string', enum: ['2026-03-21', '2026-06-11'] },
    }),
  );
  if (options.permission) decorators.push(ApiExtension('x-permission', options.permission));
  return applyDecorators(...decorators);
}

/** The caller, as the AuthGuard resolved it. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<FastifyRequest>().context.principal!;
});

/** The caller on an org-scoped route (the guard guarantees the org). */
export const OrgCaller = createParamDecorator((_: unknown, ctx: ExecutionContext): OrgPrincipal => {
  return ctx.switchToHttp().getRequest<FastifyRequest>().context.principal as OrgPrincipal;
});
