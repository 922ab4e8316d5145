import { Check, Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { AgentManifest } from '../catalog/manifest.js';
import { Organization } from '../orgs/organization.entity.js';
import { Agent } from '../catalog/agent.entity.js';

export const RUN_STATUSES = ['pending', 'running', 'success', 'failed', 'timeout', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['success', 'failed', 'timeout', 'cancelled']);
export const LIVE_STATUSES: readonly RunStatus[] = ['pending', 'running'];

export type TriggerType = 'user' | 'api_key' | 'end_user';

/**
 * One execution of an agent. It snapshots the manifest and prompt it was accepted with, so
 * later edits to the live agent never change a queued run.
 */
@Entity('runs')
@Index(['orgId', 'createdAt', 'id'])
@Index(['agentId', 'createdAt', 'id'])
@Index(['orgId', 'endUserId', 'createdAt', 'id'])
@Check('chk_runs_status', `"status" IN ('pending', 'running', 'success', 'failed', 'timeout', 'cancelled')`)
@Index('uq_runs_org_live_slot', ['orgId', 'concurrencySlot'], { unique: true, where: `"status" IN ('pending', 'running')` })
export class Run {
  /** `run_<uuidv7>` */
  @PrimaryColumn('text')
  id: string;

  @ForeignKey(() => Organization, { name: 'fk_runs_org', onDelete: 'CASCADE' })
  @Column('uuid')
  orgId: string;

  @ForeignKey(() => Agent, { name: 'fk_runs_agent', onDelete: 'CASCADE' })
  @Column('uuid')
  agentId: string;

  @Column('text')
  agentScope: string;

  @Column('text')
  agentName: string;

  /** The semver that ran; null for the live agent. */
  @Column('text', { nullable: true })
  agentVersion: string | null;

  /** The semver, or `draft` for the live agent. */
  @Column('text')
  agentRef: string;

  @Column('jsonb')
  manifest: AgentManifest;

  @Column('text')
  prompt: string;

  @Column('text')
  status: RunStatus;

  @Column('jsonb')
  input: Record<string, unknown>;

  @Column('jsonb')
  metadata: Record<string, string>;

  /** The org model used, when one was; null = the server default model from configuration. */
  @Column('uuid', { nullable: true })
  modelId: string | null;

  /** The model string sent to the provider. */
  @Column('text')
  model: string;

  @Column('text')
  apiVersion: string;

  /**
   * Which of the org's concurrency slots (0..cap-1) the run holds while pending or running; a
   * unique index over live runs enforces the cap (see RunsService). Meaningless once terminal.
   */
  @Column('integer', { nullable: true })
  concurrencySlot: number | null;

  @Column('text')
  triggeredByType: TriggerType;

  @Column('text')
  userId: string;

  @Column('uuid', { nullable: true })
  apiKeyId: string | null;

  @Column('text', { nullable: true })
  endUserId: string | null;

  /** `{ output }` once the run succeeded. */
  @Column('jsonb', { nullable: true })
  result: { output: unknown } | null;

  @Column('text', { nullable: true })
  error: string | null;

  @Column('text', { nullable: true })
  errorCode: string | null;

  @Column('integer', { default: 0 })
  inputTokens: number;

  @Column('integer', { default: 0 })
  outputTokens: number;

  /** US dollars, when the model declares prices. */
  @Column('double precision', { nullable: true })
  cost: number | null;

  /** Milliseconds from start (or acceptance, if it never started) to completion. */
  @Column('integer', { nullable: true })
  durationMs: number | null;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  startedAt: Date | null;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  completedAt: Date | null;
}
