import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A named pointer (`latest`, `beta`, …) at one published version of an agent. */
@Entity('agent_dist_tags')
export class AgentDistTag {
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
