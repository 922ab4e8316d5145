import { Column, CreateDateColumn, Entity, ForeignKey, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { BetterAuthUser } from '../auth/better-auth-user.entity.js';
import { Organization } from './organization.entity.js';
import type { Role } from '../auth/permissions.js';

@Entity('members')
export class Member {
  @ForeignKey(() => Organization, { name: 'fk_members_org', onDelete: 'CASCADE' })
  @PrimaryColumn('uuid')
  orgId: string;

  /** Better Auth's user id. */
  @ForeignKey(() => BetterAuthUser, { name: 'fk_members_user', onDelete: 'CASCADE' })
  @PrimaryColumn('text')
  userId: string;

  @Column('text')
  role: Role;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
