import { ApiKey } from '../api-keys/api-key.entity.js';
import { BetterAuthUser } from '../auth/better-auth-user.entity.js';
import { AgentDistTag } from '../catalog/agent-dist-tag.entity.js';
import { AgentVersion } from '../catalog/agent-version.entity.js';
import { Agent } from '../catalog/agent.entity.js';
import { EndUser } from '../end-users/end-user.entity.js';
import { IdempotencyRecord } from '../idempotency/idempotency-record.entity.js';
import { ModelConfig } from '../models/model-config.entity.js';
import { Member } from '../orgs/member.entity.js';
import { Organization } from '../orgs/organization.entity.js';
import { RunFile } from '../runs/run-file.entity.js';
import { RunLog } from '../runs/run-log.entity.js';
import { Run } from '../runs/run.entity.js';

/** Every TypeORM entity; listed (not globbed) so the app, the CLI and Vitest load the same set. */
export const ENTITIES = [
  BetterAuthUser,
  Organization,
  Member,
  ApiKey,
  EndUser,
  ModelConfig,
  Agent,
  AgentVersion,
  AgentDistTag,
  Run,
  RunFile,
  RunLog,
  IdempotencyRecord,
];
