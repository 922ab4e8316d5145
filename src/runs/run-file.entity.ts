import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { Run } from './run.entity.js';

/** A file uploaded with a run; its bytes live in FileStorage under `storageKey`. */
@Entity('run_files')
@Index(['runId'])
export class RunFile {
  /** `file_<uuidv7>` */
  @PrimaryColumn('text')
  id: string;

  @ForeignKey(() => Run, { name: 'fk_run_files_run', onDelete: 'CASCADE' })
  @Column('text')
  runId: string;

  @Column('uuid')
  orgId: string;

  /** The input field the file fills. */
  @Column('text')
  field: string;

  @Column('text')
  filename: string;

  @Column('text')
  contentType: string;

  @Column('bigint', { transformer: { to: (v: number) => v, from: (v: string | null) => (v === null ? v : Number(v)) } })
  size: number;

  @Column('text')
  sha256: string;

  @Column('text')
  storageKey: string;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
