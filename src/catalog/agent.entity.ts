import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { AgentManifest } from './manifest.js';
import { Organization } from '../orgs/organization.entity.js';

/** An agent `@scope/name` and its live (editable) working copy. */
@Entity('agents')
@Index(['orgId', 'scope', 'name'], { unique: true })
@Index('idx_agents_org_created', ['orgId', 'createdAt', 'id'])
export class Agent {
  @PrimaryColumn('uuid')
  id: string;

  @ForeignKey(() => Organization, { name: 'fk_agents_org', onDelete: 'CASCADE' })
  @Column('uuid')
  orgId: string;

  /** With its `@`, e.g. `@acme`. */
  @Column('text')
  scope: string;

  @Column('text')
  name: string;

  @Column('jsonb')
  manifest: AgentManifest;

  @Column('text')
  prompt: string;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
