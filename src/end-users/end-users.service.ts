import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { applyPage, toPage, type ListEnvelope, type PageRequest } from '../common/http/pagination.js';
import { isPrefixedV7, newEndUserId } from '../common/ids.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { EndUser } from './end-user.entity.js';
import type { CreateEndUserDto, EndUserDto } from './end-users.dto.js';

const present = (u: EndUser): EndUserDto => ({
  id: u.id,
  externalId: u.externalId,
  name: u.name,
  email: u.email,
  metadata: u.metadata as Record<string, string>,
  createdAt: u.createdAt.toISOString(),
  updatedAt: u.updatedAt.toISOString(),
});

const isEndUserId = (id: string) => isPrefixedV7(id, 'eu_');

/** The people an organization's integrations act for (`Appstrate-User`). Org id in every query. */
@Injectable()
export class EndUsersService {
  constructor(@InjectRepository(EndUser) private readonly endUsers: Repository<EndUser>) {}

  /** Whether `id` is an end-user of `orgId` (another org's end-user is simply not found). */
  async existsInOrg(orgId: string, id: string): Promise<boolean> {
    return this.endUsers.exists({ where: { orgId, id } });
  }

  /** `externalId` is unique per org: checked here for a clear answer, and by a unique index against races. */
  async create(orgId: string, dto: CreateEndUserDto): Promise<EndUserDto> {
    const externalId = dto.externalId ?? null;
    if (externalId !== null && (await this.endUsers.exists({ where: { orgId, externalId } }))) {
      throw new ProblemException('conflict', 'An end-user with this externalId already exists in the organization.');
    }
    const saved = await this.endUsers.save(
      this.endUsers.create({
        id: newEndUserId(),
        orgId,
        externalId,
        name: dto.name ?? null,
        email: dto.email ?? null,
        metadata: dto.metadata ?? {},
      }),
    );
    return present(saved);
  }

  async list(orgId: string, page: PageRequest, filter: { externalId?: string }): Promise<ListEnvelope<EndUserDto>> {
    const qb = this.endUsers.createQueryBuilder('e').where('e.orgId = :orgId', { orgId });
    if (filter.externalId !== undefined) qb.andWhere('e.externalId = :externalId', { externalId: filter.externalId });
    return toPage(await applyPage(qb, 'e', page, isEndUserId).getMany(), page.limit, present);
  }

  async get(orgId: string, id: string): Promise<EndUserDto> {
    if (!isEndUserId(id)) throw new ProblemException('invalid_request', 'id must be an end-user id (eu_…).', { param: 'id' });
    const found = await this.endUsers.findOne({ where: { orgId, id } });
    if (!found) throw new ProblemException('not_found', 'No such end-user in this organization.');
    return present(found);
  }
}
