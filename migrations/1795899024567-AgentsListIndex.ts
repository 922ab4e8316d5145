import type { MigrationInterface, QueryRunner } from 'typeorm';

/** `GET /api/agents` pages an organization's agents newest first by (created_at, id). */
export class AgentsListIndex1795899024567 implements MigrationInterface {
  name = 'AgentsListIndex1795899024567';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idx_agents_org_created" ON "agents" ("org_id", "created_at", "id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_agents_org_created"`);
  }
}
