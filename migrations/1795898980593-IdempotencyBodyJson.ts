import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A replayed body must be the first response as sent: `json` keeps the text (and so the key
 * order) that `jsonb` would normalise.
 */
export class IdempotencyBodyJson1795898980593 implements MigrationInterface {
  name = 'IdempotencyBodyJson1795898980593';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "idempotency_records" ALTER COLUMN "body" TYPE json USING "body"::json`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "idempotency_records" ALTER COLUMN "body" TYPE jsonb USING "body"::jsonb`);
  }
}
