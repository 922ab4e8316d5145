import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { IsNull, type DataSource, type EntityManager } from 'typeorm';
import { ApiKey } from '../api-keys/api-key.entity.js';
import { CredentialCache } from '../api-keys/credential-cache.js';
import type { Role } from '../auth/permissions.js';
import type { OrgPrincipal } from '../auth/principal.js';
import { toPage, type ListEnvelope, type PageRequest } from '../common/http/pagination.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { Member } from './member.entity.js';
import type { AddMemberDto, MemberDto } from './members.dto.js';
import { Organization } from './organization.entity.js';

/** Better Auth ids are short url-safe strings; anything else cannot name a user. */
const USER_ID = /^[A-Za-z0-9_-]{1,128}$/;

interface MemberRow {
  userId: string;
  email: string;
  name: string;
  role: Role;
  createdAt: Date;
  updatedAt: Date;
}

const present = (m: MemberRow): MemberDto => ({
  userId: m.userId,
  email: m.email,
  name: m.name,
  role: m.role,
  createdAt: m.createdAt.toISOString(),
  updatedAt: m.updatedAt.toISOString(),
});

const ownerOnly = () => new ProblemException('forbidden', 'Only an owner may grant, change or remove the owner role.');
const noSuchMember = () => new ProblemException('not_found', 'No such member in this organization.', { param: 'userId' });

/**
 * Who belongs to an organization and with which role. Every change runs in a transaction that
 * locks the organization row, so two concurrent changes cannot both remove "the other" owner.
 */
@Injectable()
export class MembersService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly credentials: CredentialCache,
  ) {}

  async list(orgId: string, page: PageRequest): Promise<ListEnvelope<MemberDto>> {
    const qb = this.db
      .getRepository(Member)
      .createQueryBuilder('m')
      .innerJoin('user', 'u', 'u.id = m.user_id')
      .select(['m.user_id AS "userId"', 'm.role AS role', 'm.created_at AS "createdAt"', 'm.updated_at AS "updatedAt"'])
      .addSelect(['u.email AS email', 'u.name AS name'])
      .where('m.orgId = :orgId', { orgId });
    // Members are keyed by user id: page on (createdAt, userId).
    if (page.cursor) {
      if (!USER_ID.test(page.cursor.id)) {
        throw new ProblemException('invalid_request', 'cursor is not a cursor this API issued.', { param: 'cursor' });
      }
      qb.andWhere('(m.created_at, m.user_id) < (:cAt, :cId)', { cAt: page.cursor.createdAt, cId: page.cursor.id });
    }
    const rows = await qb.orderBy('m.created_at', 'DESC').addOrderBy('m.user_id', 'DESC').limit(page.limit + 1).getRawMany<MemberRow>();
    return toPage(
      rows.map((r) => ({ ...r, id: r.userId })),
      page.limit,
      present,
    );
  }

  /** Adds an existing user (looked up by email in Better Auth's user table). */
  async add(caller: OrgPrincipal, dto: AddMemberDto): Promise<MemberDto> {
    if (dto.role === 'owner' && caller.role !== 'owner') throw ownerOnly();
    return this.db.transaction(async (tx) => {
      await this.lockOrg(tx, caller.orgId);
      const users: Array<{ id: string }> = await tx.query(`SELECT id FROM "user" WHERE lower(email) = lower($1)`, [dto.email]);
      const user = users[0];
      if (!user) throw new ProblemException('not_found', 'No user has signed up with this email.');
      if (await tx.exists(Member, { where: { orgId: caller.orgId, userId: user.id } })) {
        throw new ProblemException('conflict', 'This user is already a member of the organization.');
      }
      await tx.insert(Member, { orgId: caller.orgId, userId: user.id, role: dto.role });
      return present(await this.row(tx, caller.orgId, user.id));
    });
  }

  async changeRole(caller: OrgPrincipal, userId: string, role: Role): Promise<MemberDto> {
    if (role === 'owner' && caller.role !== 'owner') throw ownerOnly();
    const member = await this.db.transaction(async (tx) => {
      const target = await this.target(tx, caller, userId);
      if (target.role === 'owner' && role !== 'owner') await this.keepAnOwner(tx, caller.orgId);
      if (target.role !== role) await tx.update(Member, { orgId: caller.orgId, userId: target.userId }, { role });
      return present(await this.row(tx, caller.orgId, target.userId));
    });
    // Their API keys act with the new role from now on, in every process.
    await this.credentials.invalidate({ orgId: caller.orgId });
    return member;
  }

  /**
   * Removing a member revokes the API keys they created in the org: authentication already
   * refuses a key whose creator is no member, and revoking keeps it so if they are added again.
   */
  async remove(caller: OrgPrincipal, userId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const target = await this.target(tx, caller, userId);
      if (target.role === 'owner') await this.keepAnOwner(tx, caller.orgId);
      await tx.delete(Member, { orgId: caller.orgId, userId: target.userId });
      await tx.update(ApiKey, { orgId: caller.orgId, createdByUserId: target.userId, revokedAt: IsNull() }, { revokedAt: new Date() });
    });
    await this.credentials.invalidate({ orgId: caller.orgId });
  }

  /** The member acted on, with the owner rule checked before anything else can answer. */
  private async target(tx: EntityManager, caller: OrgPrincipal, userId: string): Promise<Member> {
    if (!USER_ID.test(userId)) throw noSuchMember();
    await this.lockOrg(tx, caller.orgId);
    const target = await tx.findOne(Member, { where: { orgId: caller.orgId, userId } });
    if (!target) throw noSuchMember();
    if (target.role === 'owner' && caller.role !== 'owner') throw ownerOnly();
    return target;
  }

  private async keepAnOwner(tx: EntityManager, orgId: string): Promise<void> {
    const owners = await tx.count(Member, { where: { orgId, role: 'owner' } });
    if (owners <= 1) {
      throw new ProblemException('conflict', 'The organization’s last owner cannot be demoted or removed; make someone else owner first.');
    }
  }

  private async lockOrg(tx: EntityManager, orgId: string): Promise<void> {
    await tx.createQueryBuilder(Organization, 'o').select('o.id').where('o.id = :orgId', { orgId }).setLock('pessimistic_write').getOne();
  }

  private async row(tx: EntityManager, orgId: string, userId: string): Promise<MemberRow> {
    const rows: MemberRow[] = await tx.query(
      `SELECT m.user_id AS "userId", m.role, m.created_at AS "createdAt", m.updated_at AS "updatedAt", u.email, u.name
         FROM members m JOIN "user" u ON u.id = m.user_id WHERE m.org_id = $1 AND m.user_id = $2`,
      [orgId, userId],
    );
    return rows[0]!;
  }
}
