import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { APIError } from 'better-auth/api';
import { fromNodeHeaders } from 'better-auth/node';
import type { FastifyRequest } from 'fastify';
import { ApiKeysService, type ApiKeyCredential } from '../api-keys/api-keys.service.js';
import { isUuidString } from '../common/ids.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { EndUsersService } from '../end-users/end-users.service.js';
import { MembershipsService } from '../orgs/memberships.service.js';
import { AUTH_OPTIONS, IS_PUBLIC, type AuthOptions } from './auth.decorators.js';
import { BETTER_AUTH } from './auth.tokens.js';
import type { BetterAuth } from './better-auth.js';
import { effectiveKeyPermissions, ROLE_PERMISSIONS } from './permissions.js';
import type { Principal } from './principal.js';

const invalidKey = () =>
  new ProblemException('unauthorized', 'Invalid or expired API key', {
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
  });
const invalidSession = () =>
  new ProblemException('unauthorized', 'Invalid or missing session', {
    headers: { 'WWW-Authenticate': 'Bearer realm="api", Cookie realm="session"' },
  });

/** Reads one header value; a repeated header is refused rather than guessed at. */
function singleHeader(req: FastifyRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  if (Array.isArray(value)) throw new ProblemException('invalid_request', `Send the ${name} header once.`, { param: name });
  return value;
}

/**
 * The one authentication step (global, deny by default): session cookie or `Bearer ask_…`
 * key → organization context → `Appstrate-User` impersonation → permission. The result is a
 * single Principal on the request context that every later step reads.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(BETTER_AUTH) private readonly auth: BetterAuth,
    private readonly apiKeys: ApiKeysService,
    private readonly memberships: MembershipsService,
    private readonly endUsers: EndUsersService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const options: AuthOptions = this.reflector.getAllAndOverride<AuthOptions>(AUTH_OPTIONS, targets) ?? { org: 'header' };
    const req = context.switchToHttp().getRequest<FastifyRequest>();

    const authorization = singleHeader(req, 'Authorization');
    const bearer = /^bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
    const principal = bearer ? await this.fromApiKey(req, bearer[1].trim(), options) : await this.fromSession(req, options);

    // The permission itself is checked by PermissionGuard, once the API version is resolved.
    req.context.principal = principal;
    return true;
  }

  private async fromApiKey(req: FastifyRequest, token: string, options: AuthOptions): Promise<Principal> {
    const key = await this.apiKeys.findActiveByToken(token);
    if (!key || !key.creatorRole) throw invalidKey();
    if (options.sessionOnly) {
      throw new ProblemException('forbidden', 'This route needs a signed-in user session; API keys are not accepted.');
    }
    const orgHeader = singleHeader(req, 'X-Org-Id');
    if (orgHeader !== undefined && orgHeader.trim().toLowerCase() !== key.orgId) {
      throw new ProblemException('forbidden', 'The API key belongs to another organization than X-Org-Id names.', {
        param: 'X-Org-Id',
      });
    }
    if (options.org === 'path') this.requirePathOrg(req, key.orgId);
    return {
      kind: 'api_key',
      userId: key.createdByUserId,
      apiKeyId: key.id,
      orgId: key.orgId,
      role: key.creatorRole,
      permissions: effectiveKeyPermissions(key.scopes, key.creatorRole),
      endUserId: await this.endUser(req, key),
      orgApiVersion: key.orgApiVersion,
    };
  }

  private async fromSession(req: FastifyRequest, options: AuthOptions): Promise<Principal> {
    const session = await this.auth.api.getSession({ headers: fromNodeHeaders(req.headers) }).catch((err: unknown) => {
      // A refused cookie is no session. Anything else must not read as "sign in again": Better
      // Auth wraps its own failures (PostgreSQL unreachable → 503, a bug → 500) as an APIError
      // with the cause, which the problem filter classifies like any other error.
      if (err instanceof APIError && err.statusCode < 500) return null;
      throw (err as { cause?: unknown }).cause ?? err;
    });
    if (!session) throw invalidSession();
    if (singleHeader(req, 'Appstrate-User') !== undefined) {
      throw new ProblemException('header_not_allowed', 'Appstrate-User can only be used with an API key.', {
        param: 'Appstrate-User',
      });
    }
    const base = { kind: 'session' as const, userId: session.user.id, apiKeyId: null, endUserId: null };
    if (options.org === 'none') {
      return { ...base, orgId: null, role: null, permissions: new Set(), orgApiVersion: null };
    }
    const orgId = options.org === 'path' ? this.pathOrgId(req) : this.headerOrgId(req);
    const membership = await this.memberships.find(orgId, session.user.id);
    // Not a member and no such org answer alike (API.md section 2), so org ids cannot be probed.
    if (!membership) {
      throw new ProblemException('forbidden', 'You are not a member of this organization.', {
        param: options.org === 'path' ? 'orgId' : 'X-Org-Id',
      });
    }
    return {
      ...base,
      orgId,
      role: membership.role,
      permissions: ROLE_PERMISSIONS[membership.role],
      orgApiVersion: membership.orgApiVersion,
    };
  }

  private headerOrgId(req: FastifyRequest): string {
    const value = singleHeader(req, 'X-Org-Id')?.trim();
    if (!value) throw new ProblemException('invalid_request', 'Send the organization id in the X-Org-Id header.', { param: 'X-Org-Id' });
    if (!isUuidString(value)) throw new ProblemException('invalid_request', 'X-Org-Id must be a UUID.', { param: 'X-Org-Id' });
    return value.toLowerCase();
  }

  private pathOrgId(req: FastifyRequest): string {
    const value = (req.params as Record<string, string | undefined>).orgId;
    if (typeof value !== 'string' || !isUuidString(value)) {
      throw new ProblemException('invalid_request', 'orgId must be a UUID.', { param: 'orgId' });
    }
    return value.toLowerCase();
  }

  /** A key acts only in its own org; naming another one is refused like a conflicting X-Org-Id. */
  private requirePathOrg(req: FastifyRequest, orgId: string): void {
    if (this.pathOrgId(req) !== orgId) {
      throw new ProblemException('forbidden', 'The API key belongs to another organization than the path names.', { param: 'orgId' });
    }
  }

  private async endUser(req: FastifyRequest, key: ApiKeyCredential): Promise<string | null> {
    const value = singleHeader(req, 'Appstrate-User');
    if (value === undefined) return null;
    if (!value.startsWith('eu_')) {
      throw new ProblemException('invalid_end_user_id', 'Appstrate-User must be an end-user id starting with eu_.', {
        param: 'Appstrate-User',
      });
    }
    if (!(await this.endUsers.existsInOrg(key.orgId, value))) {
      throw new ProblemException('invalid_end_user', 'Appstrate-User names no end-user of this organization.', {
        param: 'Appstrate-User',
      });
    }
    return value;
  }
}
