import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { AgentManifest } from './manifest.js';
import { Agent } from './agent.entity.js';

/** An immutable published snapshot of an agent's manifest and prompt. */
@Entity('agent_versions')
@Index(['agentId', 'version'], { unique: true })
export class AgentVersion {
  @PrimaryColumn('uuid')
  id: string;

  @ForeignKey(() => Agent, { name: 'fk_agent_versions_agent', onDelete: 'CASCADE' })
  @Column('uuid')
  agentId: string;

  @Column('uuid')
  orgId: string;

  /** A valid semver, e.g. `1.2.0` or `2.0.0-beta.1`. */
  @Column('text')
  version: string;

  @Column('jsonb')
  manifest: AgentManifest;

  @Column('text')
  prompt: string;

  @Column('boolean', { default: false })
  yanked: boolean;

  @Column('text', { nullable: true })
  createdByUserId: string | null;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
