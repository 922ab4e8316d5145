import { Entity, PrimaryColumn } from 'typeorm';

/**
 * Better Auth's own `user` table, declared only so members can reference it by foreign key.
 * Better Auth creates and migrates it (`synchronize: false` keeps TypeORM's hands off it).
 */
@Entity({ name: 'user', synchronize: false })
export class BetterAuthUser {
  @PrimaryColumn('text')
  id: string;
}
