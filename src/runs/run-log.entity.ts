import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { Run } from './run.entity.js';

export type RunLogType = 'system' | 'progress' | 'result';
export type RunLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One step of a run's execution; ids come from one sequence, so they ascend within a run. */
@Entity('run_logs')
@Index(['runId', 'id'])
export class RunLog {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  @ForeignKey(() => Run, { name: 'fk_run_logs_run', onDelete: 'CASCADE' })
  @Column('text')
  runId: string;

  @Column('uuid')
  orgId: string;

  @Column('text')
  type: RunLogType;

  @Column('text')
  event: string;

  @Column('text')
  level: RunLogLevel;

  @Column('text')
  message: string;

  @Column('jsonb', { default: () => "'{}'" })
  data: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
