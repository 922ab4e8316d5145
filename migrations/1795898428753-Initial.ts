import type { MigrationInterface, QueryRunner } from "typeorm";

export class Initial1795898428753 implements MigrationInterface {
    name = 'Initial1795898428753'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "api_keys" ("id" uuid NOT NULL, "org_id" uuid NOT NULL, "created_by_user_id" text NOT NULL, "name" text NOT NULL, "key_hash" text NOT NULL, "key_prefix" text NOT NULL, "scopes" text array NOT NULL, "expires_at" TIMESTAMP(3) WITH TIME ZONE, "revoked_at" TIMESTAMP(3) WITH TIME ZONE, "last_used_at" TIMESTAMP(3) WITH TIME ZONE, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_57384430aa1959f4578046c9b81" UNIQUE ("key_hash"), CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_ba7f5748f500d24aa18041d043" ON "api_keys"  ("org_id") `);
        await queryRunner.query(`CREATE TABLE "agent_dist_tags" ("agent_id" uuid NOT NULL, "tag" text NOT NULL, "org_id" uuid NOT NULL, "version" text NOT NULL, "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_a7ac1bd57afffa2514480769d3d" PRIMARY KEY ("agent_id", "tag"))`);
        await queryRunner.query(`CREATE TABLE "agent_versions" ("id" uuid NOT NULL, "agent_id" uuid NOT NULL, "org_id" uuid NOT NULL, "version" text NOT NULL, "manifest" jsonb NOT NULL, "prompt" text NOT NULL, "yanked" boolean NOT NULL DEFAULT false, "created_by_user_id" text, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_1707ad895314a76125e4ece3a27" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_b392370a19a493bde3c7356615" ON "agent_versions"  ("agent_id", "version") `);
        await queryRunner.query(`CREATE TABLE "agents" ("id" uuid NOT NULL, "org_id" uuid NOT NULL, "scope" text NOT NULL, "name" text NOT NULL, "manifest" jsonb NOT NULL, "prompt" text NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_9c653f28ae19c5884d5baf6a1d9" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_5ceeab81d2f44be071892d9a35" ON "agents"  ("org_id", "scope", "name") `);
        await queryRunner.query(`CREATE TABLE "end_users" ("id" text NOT NULL, "org_id" uuid NOT NULL, "external_id" text, "name" text, "email" text, "metadata" jsonb NOT NULL DEFAULT '{}'::jsonb, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_6c40dcf89afaac08b0b653de008" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_9237f5e49e094e5e597ef1c7b5" ON "end_users"  ("org_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_502da1d2ebf78b55513a561f0d" ON "end_users"  ("org_id", "external_id") WHERE "external_id" IS NOT NULL`);
        await queryRunner.query(`CREATE TABLE "idempotency_records" ("org_id" uuid NOT NULL, "caller" text NOT NULL, "key" text NOT NULL, "fingerprint" text NOT NULL, "status" integer NOT NULL, "body" jsonb NOT NULL, "headers" jsonb NOT NULL DEFAULT '{}'::jsonb, "run_id" text, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "PK_27be79e9316aacdba8aba4f6817" PRIMARY KEY ("org_id", "caller", "key"))`);
        await queryRunner.query(`CREATE INDEX "IDX_b3482fdd761179f433dab212e7" ON "idempotency_records"  ("expires_at") `);
        await queryRunner.query(`CREATE TABLE "models" ("id" uuid NOT NULL, "org_id" uuid NOT NULL, "name" text NOT NULL, "base_url" text NOT NULL, "api_key_encrypted" text NOT NULL, "model" text NOT NULL, "is_default" boolean NOT NULL DEFAULT false, "input_price_per_mtok" double precision, "output_price_per_mtok" double precision, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_ef9ed7160ea69013636466bf2d5" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_f676c3d47d6a60da01b16e501b" ON "models"  ("org_id") WHERE "is_default"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_196f4ac8724802c9fa36120413" ON "models"  ("org_id", "name") `);
        await queryRunner.query(`CREATE TABLE "members" ("org_id" uuid NOT NULL, "user_id" text NOT NULL, "role" text NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_c093489a80dc02e48403d8bf48e" PRIMARY KEY ("org_id", "user_id"))`);
        await queryRunner.query(`CREATE TABLE "organizations" ("id" uuid NOT NULL, "name" text NOT NULL, "slug" text NOT NULL, "api_version" text NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_963693341bd612aa01ddf3a4b68" UNIQUE ("slug"), CONSTRAINT "PK_6b031fcd0863e3f6b44230163f9" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "run_files" ("id" text NOT NULL, "run_id" text NOT NULL, "org_id" uuid NOT NULL, "field" text NOT NULL, "filename" text NOT NULL, "content_type" text NOT NULL, "size" bigint NOT NULL, "sha256" text NOT NULL, "storage_key" text NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_4959baf58e1bce9279c426670f2" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_c20a95a038a8bbb3d67a685d69" ON "run_files"  ("run_id") `);
        await queryRunner.query(`CREATE TABLE "run_logs" ("id" BIGSERIAL NOT NULL, "run_id" text NOT NULL, "org_id" uuid NOT NULL, "type" text NOT NULL, "event" text NOT NULL, "level" text NOT NULL, "message" text NOT NULL, "data" jsonb NOT NULL DEFAULT '{}'::jsonb, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_a7e453f59dee3f9e1e47c453203" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_bede935c98d2b1e0575a21ec15" ON "run_logs"  ("run_id", "id") `);
        await queryRunner.query(`CREATE TABLE "runs" ("id" text NOT NULL, "org_id" uuid NOT NULL, "agent_id" uuid NOT NULL, "agent_scope" text NOT NULL, "agent_name" text NOT NULL, "agent_version" text, "agent_ref" text NOT NULL, "manifest" jsonb NOT NULL, "prompt" text NOT NULL, "status" text NOT NULL, "input" jsonb NOT NULL, "metadata" jsonb NOT NULL, "model_id" uuid, "model" text NOT NULL, "api_version" text NOT NULL, "triggered_by_type" text NOT NULL, "user_id" text NOT NULL, "api_key_id" uuid, "end_user_id" text, "result" jsonb, "error" text, "error_code" text, "input_tokens" integer NOT NULL DEFAULT '0', "output_tokens" integer NOT NULL DEFAULT '0', "cost" double precision, "duration_ms" integer, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP(3) WITH TIME ZONE, "completed_at" TIMESTAMP(3) WITH TIME ZONE, CONSTRAINT "PK_46d6a1e257c38ba58f1a3c30836" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_e5985a0ab64f0eb8dde73a86d3" ON "runs"  ("org_id", "end_user_id", "created_at", "id") `);
        await queryRunner.query(`CREATE INDEX "IDX_f65a459b7f15fa4c3c090cd82d" ON "runs"  ("agent_id", "created_at", "id") `);
        await queryRunner.query(`CREATE INDEX "IDX_804100c58e84226d2ff61d5582" ON "runs"  ("org_id", "created_at", "id") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."IDX_804100c58e84226d2ff61d5582"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_f65a459b7f15fa4c3c090cd82d"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_e5985a0ab64f0eb8dde73a86d3"`);
        await queryRunner.query(`DROP TABLE "runs"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_bede935c98d2b1e0575a21ec15"`);
        await queryRunner.query(`DROP TABLE "run_logs"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_c20a95a038a8bbb3d67a685d69"`);
        await queryRunner.query(`DROP TABLE "run_files"`);
        await queryRunner.query(`DROP TABLE "organizations"`);
        await queryRunner.query(`DROP TABLE "members"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_196f4ac8724802c9fa36120413"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_f676c3d47d6a60da01b16e501b"`);
        await queryRunner.query(`DROP TABLE "models"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_b3482fdd761179f433dab212e7"`);
        await queryRunner.query(`DROP TABLE "idempotency_records"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_502da1d2ebf78b55513a561f0d"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_9237f5e49e094e5e597ef1c7b5"`);
        await queryRunner.query(`DROP TABLE "end_users"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_5ceeab81d2f44be071892d9a35"`);
        await queryRunner.query(`DROP TABLE "agents"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_b392370a19a493bde3c7356615"`);
        await queryRunner.query(`DROP TABLE "agent_versions"`);
        await queryRunner.query(`DROP TABLE "agent_dist_tags"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_ba7f5748f500d24aa18041d043"`);
        await queryRunner.query(`DROP TABLE "api_keys"`);
    }

}
