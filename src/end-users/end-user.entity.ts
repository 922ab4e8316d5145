import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Organization } from '../orgs/organization.entity.js';

@Entity('end_users')
@Index(['orgId', 'externalId'], { unique: true, where: '"external_id" IS NOT NULL' })
export class EndUser {
  /** `eu_<uuidv7>` */
  @PrimaryColumn('text')
  id: string;

  @ForeignKey(() => Organization, { name: 'fk_end_users_org', onDelete: 'CASCADE' })
  @Index()
  @Column('uuid')
  orgId: string;

  @Column('text', { nullable: true })
  externalId: string | null;

  @Column('text', { nullable: true })
  name: string | null;

  @Column('text', { nullable: true })
  email: string | null;

  @Column('jsonb', { default: () => "'{}'" })
  metadata: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
