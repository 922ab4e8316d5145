import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CredentialCache } from '../api-keys/credential-cache.js';
import { checkApiVersion } from '../api-versions/api-version.js';
import type { Role } from '../auth/permissions.js';
import { InjectConfig } from '../config/config.module.js';
import type { AppConfig } from '../config/app.config.js';
import { applyPage, toPage, type ListEnvelope, type PageRequest } from '../common/http/pagination.js';
import { isUuidString, newUuid } from '../common/ids.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { Member } from './member.entity.js';
import { Organization } from './organization.entity.js';
import type { CreateOrgDto, OrgDto, UpdateOrgDto } from './orgs.dto.js';

const present = (org: Organization, role: Role): OrgDto => ({
  id: org.id,
  name: org.name,
  slug: org.slug,
  apiVersion: org.apiVersion,
  role,
  createdAt: org.createdAt.toISOString(),
  updatedAt: org.updatedAt.toISOString(),
});

@Injectable()
export class OrgsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly credentials: CredentialCache,
  ) {}

  /** Creates the org with the caller as its owner, pinned to the platform default version. */
  async create(userId: string, dto: CreateOrgDto): Promise<OrgDto> {
    return this.db.transaction(async (tx) => {
      const taken = await tx.exists(Organization, { where: { slug: dto.slug } });
      if (taken) throw new ProblemException('conflict', 'An organization with this slug already exists.');
      const org = await tx.save(
        tx.create(Organization, { id: newUuid(), name: dto.name, slug: dto.slug, apiVersion: this.config.apiVersions.default }),
      );
      await tx.save(tx.create(Member, { orgId: org.id, userId, role: 'owner' }));
      return present(org, 'owner');
    });
  }

  /** The user's organizations, newest first, with their role in each. */
  async listForUser(userId: string, page: PageRequest): Promise<ListEnvelope<OrgDto>> {
    const qb = this.db
      .getRepository(Organization)
      .createQueryBuilder('o')
      .innerJoin(Member, 'm', 'm.org_id = o.id AND m.user_id = :userId', { userId })
      .addSelect('m.role', 'm_role');
    const { raw, entities } = await applyPage(qb, 'o', page, isUuidString).getRawAndEntities();
    const roles = new Map(raw.map((r: { o_id: string; m_role: Role }) => [r.o_id, r.m_role]));
    return toPage(entities, page.limit, (org) => present(org, roles.get(org.id)!));
  }

  async update(orgId: string, role: Role, dto: UpdateOrgDto): Promise<OrgDto> {
    if (dto.apiVersion !== undefined) {
      const check = checkApiVersion(dto.apiVersion);
      if (!check.ok) {
        throw new ProblemException('unsupported_api_version', 'apiVersion must be one of 2026-03-21, 2026-06-11.', {
          param: 'apiVersion',
        });
      }
    }
    const repo = this.db.getRepository(Organization);
    const org = await repo.findOneByOrFail({ id: orgId });
    if (dto.name !== undefined) org.name = dto.name;
    if (dto.apiVersion !== undefined) org.apiVersion = dto.apiVersion;
    const saved = await repo.save(org);
    // API keys carry the org's pinned version: every process must see the new one at once.
    if (dto.apiVersion !== undefined) await this.credentials.invalidate({ orgId });
    return present(saved, role);
  }
}
