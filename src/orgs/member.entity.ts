import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from '../auth/permissions.js';

@Entity('members')
export class Member {
  @PrimaryColumn('uuid')
  orgId: string;

  /** Better Auth's user id. */
  @PrimaryColumn('text')
  userId: string;

  @Column('text')
  role: Role;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
