import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the entity metadata does not express: foreign keys (tenancy follows the organization;
 * a run's files and logs go with the run), the run status domain, and the small partial index
 * the per-org concurrency cap counts with.
 */
export class Constraints1795898500000 implements MigrationInterface {
  name = 'Constraints1795898500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "members" ADD CONSTRAINT "fk_members_org" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE`);
    await q.query(`ALTER TABLE "members" ADD CONSTRAINT "fk_members_user" FOREIGN KEY ("user_id") REFERENCES "user"("id") ON DELETE CASCADE`);
    await q.query(`ALTER TABLE "api_keys" ADD CONSTRAINT "fk_api_keys_org" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE`);
    await q.query(`ALTER TABLE "end_users" ADD CONSTRAINT "fk_end_users_org" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE`);
    await q.query(`ALTER TABLE "models" ADD CONSTRAINT "fk_models_org" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE`);
    await q.query(`ALTER TABLE "agents" ADD CONSTRAINT "fk_agents_org" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE`);
    await q.query(`ALTER TABLE "agent_versions" ADD CONSTRAINT "fk_agent_versions_agent" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE`);
    await q.query(`ALTER TABLE "agent_dist_tags" ADD CONSTRAINT "fk_agent_dist_tags_agent" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE`);
    await q.query(`ALTER TABLE "runs" ADD CONSTRAINT "fk_runs_org" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE`);
    await q.query(`ALTER TABLE "runs" ADD CONSTRAINT "fk_runs_agent" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE`);
    await q.query(`ALTER TABLE "run_files" ADD CONSTRAINT "fk_run_files_run" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE`);
    await q.query(`ALTER TABLE "run_logs" ADD CONSTRAINT "fk_run_logs_run" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE`);
    await q.query(
      `ALTER TABLE "runs" ADD CONSTRAINT "chk_runs_status" CHECK ("status" IN ('pending', 'running', 'success', 'failed', 'timeout', 'cancelled'))`,
    );
    await q.query(`CREATE INDEX "idx_runs_org_live" ON "runs" ("org_id") WHERE "status" IN ('pending', 'running')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "idx_runs_org_live"`);
    await q.query(`ALTER TABLE "runs" DROP CONSTRAINT "chk_runs_status"`);
    for (const [table, name] of [
      ['run_logs', 'fk_run_logs_run'],
      ['run_files', 'fk_run_files_run'],
      ['runs', 'fk_runs_agent'],
      ['runs', 'fk_runs_org'],
      ['agent_dist_tags', 'fk_agent_dist_tags_agent'],
      ['agent_versions', 'fk_agent_versions_agent'],
      ['agents', 'fk_agents_org'],
      ['models', 'fk_models_org'],
      ['end_users', 'fk_end_users_org'],
      ['api_keys', 'fk_api_keys_org'],
      ['members', 'fk_members_user'],
      ['members', 'fk_members_org'],
    ]) {
      await q.query(`ALTER TABLE "${table}" DROP CONSTRAINT "${name}"`);
    }
  }
}
