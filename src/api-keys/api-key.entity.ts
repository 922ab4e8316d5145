import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { Organization } from '../orgs/organization.entity.js';

@Entity('api_keys')
export class ApiKey {
  @PrimaryColumn('uuid')
  id: string;

  @ForeignKey(() => Organization, { name: 'fk_api_keys_org', onDelete: 'CASCADE' })
  @Index()
  @Column('uuid')
  orgId: string;

  /** The member who minted the key; the key's permissions follow this user's current role. */
  @Column('text')
  createdByUserId: string;

  @Column('text')
  name: string;

  /** Hex SHA-256 of the whole token; the plaintext is never stored. */
  @Column('text', { unique: true })
  keyHash: string;

  /** What the UI shows to tell keys apart, e.g. `ask_1a2b3c4d`. */
  @Column('text')
  keyPrefix: string;

  @Column('text', { array: true })
  scopes: string[];

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  expiresAt: Date | null;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  revokedAt: Date | null;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  lastUsedAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
