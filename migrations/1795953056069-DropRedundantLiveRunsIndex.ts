import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `idx_runs_org_live` (org_id, live runs only) repeats the leading column and the predicate of
 * `uq_runs_org_live_slot`, which serves every query it served (the cap's free-slot scan, the
 * orphan sweep). Every run insert and status change paid for both.
 */
export class DropRedundantLiveRunsIndex1795953056069 implements MigrationInterface {
  name = 'DropRedundantLiveRunsIndex1795953056069';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_runs_org_live"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idx_runs_org_live" ON "runs" ("org_id") WHERE "status" IN ('pending', 'running')`);
  }
}
