import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-organization concurrency cap without a per-org lock: each pending or running run
 * holds one of the org's `cap` slots, and a unique index over live runs makes two runs unable
 * to hold the same slot. A run that ends leaves the partial index, which frees its slot.
 */
export class RunConcurrencySlots1795900175842 implements MigrationInterface {
  name = 'RunConcurrencySlots1795900175842';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "runs" ADD "concurrency_slot" integer`);
    await q.query(
      `CREATE UNIQUE INDEX "uq_runs_org_live_slot" ON "runs" ("org_id", "concurrency_slot") WHERE "status" IN ('pending', 'running')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "uq_runs_org_live_slot"`);
    await q.query(`ALTER TABLE "runs" DROP COLUMN "concurrency_slot"`);
  }
}
