import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { IsNull, type DataSource } from 'typeorm';
import { API_KEY_PERMISSIONS, defaultKeyScopes, isPermission, isRole, ROLE_PERMISSIONS, type Role } from '../auth/permissions.js';
import type { OrgPrincipal } from '../auth/principal.js';
import { applyPage, toPage, type ListEnvelope, type PageRequest } from '../common/http/pagination.js';
import { isUuidString, newUuid } from '../common/ids.js';
import { ProblemException, type ProblemFieldError } from '../common/problem/problem.exception.js';
import { ApiKey } from './api-key.entity.js';
import { API_KEY_PATTERN, generateApiKey, hashApiKey, hashesEqual } from './api-key-token.js';
import type { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-keys.dto.js';
import { CredentialCache } from './credential-cache.js';

const present = (key: ApiKey): ApiKeyDto => ({
  id: key.id,
  name: key.name,
  keyPrefix: key.keyPrefix,
  scopes: key.scopes,
  expiresAt: key.expiresAt?.toISOString() ?? null,
  lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
  createdAt: key.createdAt.toISOString(),
});

/** What authentication needs to know about a presented key, read in one query. */
export interface ApiKeyCredential {
  id: string;
  orgId: string;
  createdByUserId: string;
  scopes: string[];
  /** The creator's current role in the key's org; null when they are no longer a member. */
  creatorRole: Role | null;
  orgApiVersion: string;
}

const LAST_USED_RESOLUTION_MS = 60_000;

@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cache: CredentialCache,
  ) {}

  /** Mints a key for the caller's org; the plaintext is returned here and never again. */
  async create(caller: OrgPrincipal, dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const scopes = dto.scopes ?? defaultKeyScopes(caller.role);
    const errors: ProblemFieldError[] = [];
    if (scopes.length === 0) errors.push({ field: 'scopes', code: 'invalid', message: 'scopes must name at least one permission.' });
    scopes.forEach((scope, i) => {
      if (!isPermission(scope) || !API_KEY_PERMISSIONS.has(scope)) {
        errors.push({ field: `scopes.${i}`, code: 'invalid', message: 'Not a permission an API key may hold.' });
      } else if (!ROLE_PERMISSIONS[caller.role].has(scope)) {
        errors.push({ field: `scopes.${i}`, code: 'invalid', message: 'You do not hold this permission yourself.' });
      }
    });
    const expiresAt = dto.expiresAt == null ? null : new Date(dto.expiresAt);
    if (expiresAt && Number.isNaN(expiresAt.getTime())) {
      // ISO 8601 forms the validator accepts but Date cannot read (week dates: 2030-W01).
      errors.push({ field: 'expiresAt', code: 'invalid', message: 'expiresAt must be a date-time such as 2030-01-01T00:00:00Z.' });
    } else if (expiresAt && expiresAt.getTime() <= Date.now()) {
      errors.push({ field: 'expiresAt', code: 'invalid', message: 'expiresAt must be in the future.' });
    }
    if (errors.length > 0) throw ProblemException.validation(errors);
    const generated = generateApiKey();
    const key = await this.db.getRepository(ApiKey).save({
      id: newUuid(),
      orgId: caller.orgId,
      createdByUserId: caller.userId,
      name: dto.name,
      keyHash: generated.hash,
      keyPrefix: generated.prefix,
      scopes: [...new Set(scopes)],
      expiresAt,
      revokedAt: null,
      lastUsedAt: null,
    });
    return { ...present(key), key: generated.token };
  }

  /** The org's keys that still work or may yet expire (revoked ones are gone for good). */
  async list(orgId: string, page: PageRequest): Promise<ListEnvelope<ApiKeyDto>> {
    const qb = this.db.getRepository(ApiKey).createQueryBuilder('k').where('k.orgId = :orgId AND k.revokedAt IS NULL', { orgId });
    return toPage(await applyPage(qb, 'k', page, isUuidString).getMany(), page.limit, present);
  }

  /** Revokes at once: every process drops the key from its credential cache before this answers. */
  async revoke(orgId: string, id: string): Promise<void> {
    const result = await this.db.getRepository(ApiKey).update({ id, orgId, revokedAt: IsNull() }, { revokedAt: new Date() });
    if (!result.affected) throw new ProblemException('not_found', 'No such API key in this organization.');
    await this.cache.invalidate({ keyId: id });
  }

  /**
   * The active key matching `token`, or null (unknown, revoked, expired, malformed).
   * Looked up by its SHA-256 (indexed), then compared in constant time; recent answers come
   * from the in-process {@link CredentialCache} (expiry still checked against the clock).
   */
  async findActiveByToken(token: string): Promise<ApiKeyCredential | null> {
    if (!API_KEY_PATTERN.test(token)) return null;
    const hash = hashApiKey(token);
    const cached = this.cache.get(hash);
    if (cached) {
      const now = Date.now();
      if (cached.lastUsedAt === null || now - cached.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
        cached.lastUsedAt = now;
        this.touch(cached.credential.id, null);
      }
      return cached.credential;
    }
    const ticket = this.cache.ticket();
    const rows: Array<Record<string, unknown>> = await this.db.query(
      `SELECT k.id, k.org_id, k.created_by_user_id, k.scopes, k.key_hash, k.last_used_at, k.expires_at, m.role, o.api_version
         FROM api_keys k
         JOIN organizations o ON o.id = k.org_id
         LEFT JOIN members m ON m.org_id = k.org_id AND m.user_id = k.created_by_user_id
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())`,
      [hash],
    );
    const row = rows[0];
    if (!row || !hashesEqual(String(row.key_hash), hash)) return null;
    const lastUsedAt = row.last_used_at as Date | null;
    const touched = this.touch(String(row.id), lastUsedAt);
    const credential: ApiKeyCredential = {
      id: String(row.id),
      orgId: String(row.org_id),
      createdByUserId: String(row.created_by_user_id),
      scopes: row.scopes as string[],
      creatorRole: isRole(row.role) ? row.role : null,
      orgApiVersion: String(row.api_version),
    };
    if (credential.creatorRole) {
      this.cache.set(ticket, hash, credential, row.expires_at as Date | null, touched ? new Date() : lastUsedAt);
    }
    return credential;
  }

  /** Records use without holding up the request; at most one write a minute per key. */
  private touch(id: string, lastUsedAt: Date | null): boolean {
    if (lastUsedAt && Date.now() - lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return false;
    this.db
      .query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1`, [id])
      .catch((err: unknown) => this.logger.warn({ err, msg: 'could not record API key use', apiKeyId: id }));
    return true;
  }
}
