import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The durable half of idempotency, and the only copy of a finished request's response: kept
 * 24 h, it answers every replay (and makes sure none creates a run, even if Redis lost its
 * keys in between).
 */
@Entity('idempotency_records')
@Index(['expiresAt'])
export class IdempotencyRecord {
  @PrimaryColumn('uuid')
  orgId: string;

  /** `key:<apiKeyId>` or `user:<userId>` (see `callerKey`). */
  @PrimaryColumn('text')
  caller: string;

  @PrimaryColumn('text')
  key: string;

  /** Hex SHA-256 of the request fingerprint. */
  @Column('text')
  fingerprint: string;

  @Column('integer')
  status: number;

  /** `json`, not `jsonb`: a replay sends the body with its original key order. */
  @Column('json')
  body: unknown;

  /** Headers replayed with the body (e.g. `Location`). */
  @Column('jsonb', { default: () => "'{}'" })
  headers: Record<string, string>;

  @Column('text', { nullable: true })
  runId: string | null;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  expiresAt: Date;
}
