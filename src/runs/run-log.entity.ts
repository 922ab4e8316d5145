import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type RunLogType = 'system' | 'progress' | 'result';
export type RunLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One step of a run's execution; ids come from one sequence, so they ascend within a run. */
@Entity('run_logs')
@Index(['runId', 'id'])
export class RunLog {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

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

  @Column('jsonb', { default: () => "'{}'::jsonb" })
  data: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
