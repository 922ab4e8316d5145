import { Column, Entity, ForeignKey, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Agent } from './agent.entity.js';

/** A named pointer (`latest`, `beta`, …) at one published version of an agent. */
@Entity('agent_dist_tags')
export class AgentDistTag {
  @ForeignKey(() => Agent, { name: 'fk_agent_dist_tags_agent', onDelete: 'CASCADE' })
  @PrimaryColumn('uuid')
  agentId: string;

  @PrimaryColumn('text')
  tag: string;

  @Column('uuid')
  orgId: string;

  @Column('text')
  version: string;

  @UpdateDateColumn({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
