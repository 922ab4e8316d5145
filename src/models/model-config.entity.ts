import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Organization } from '../orgs/organization.entity.js';

/** An organization's OpenAI-compatible chat-completions endpoint. */
@Entity('models')
@Index(['orgId', 'name'], { unique: true })
@Index(['orgId'], { unique: true, where: '"is_default"' })
export class ModelConfig {
  @PrimaryColumn('uuid')
  id: string;

  @ForeignKey(() => Organization, { name: 'fk_models_org', onDelete: 'CASCADE' })
  @Column('uuid')
  orgId: string;

  @Column('text')
  name: string;

  @Column('text')
  baseUrl: string;

  /** AES-256-GCM ciphertext of the provider API key (see ModelSecretsCipher); never returned. */
  @Column('text')
  apiKeyEncrypted: string;

  /** The model string sent to the provider, e.g. `gpt-4o-mini`. */
  @Column('text')
  model: string;

  @Column('boolean', { default: false })
  isDefault: boolean;

  /** US dollars per million tokens, when the operator declares prices. */
  @Column('double precision', { nullable: true })
  inputPricePerMTok: number | null;

  @Column('double precision', { nullable: true })
  outputPricePerMTok: number | null;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
