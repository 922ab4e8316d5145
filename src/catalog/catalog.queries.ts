import { In, type EntityManager } from 'typeorm';
import { ProblemException } from '../common/problem/problem.exception.js';
import { AgentDistTag } from './agent-dist-tag.entity.js';
import type { AgentPath } from './agent-path.js';
import { Agent } from './agent.entity.js';

/** Another organization's agent is indistinguishable from a missing one (404, never 403). */
export const agentNotFound = (path: AgentPath) =>
  new ProblemException('agent_not_found', `No agent ${path.scope}/${path.name} in this organization.`);

/**
 * The org's agent or a 404. With `lock`, the row is locked until the transaction ends: every
 * write to an agent's versions and tags takes this lock, so they apply one at a time.
 */
export async function findAgentOrThrow(em: EntityManager, orgId: string, path: AgentPath, lock = false): Promise<Agent> {
  const agent = await em.getRepository(Agent).findOne({
    where: { orgId, scope: path.scope, name: path.name },
    ...(lock && { lock: { mode: 'pessimistic_write' as const } }),
  });
  if (!agent) throw agentNotFound(path);
  return agent;
}

/** agentId → (tag → version), alphabetical by tag. */
export async function distTagsOf(em: EntityManager, orgId: string, agentIds: string[]): Promise<Map<string, Record<string, string>>> {
  const result = new Map<string, Record<string, string>>(agentIds.map((id) => [id, {}]));
  if (agentIds.length === 0) return result;
  const tags = await em.getRepository(AgentDistTag).find({ where: { orgId, agentId: In(agentIds) }, order: { tag: 'ASC' } });
  for (const tag of tags) result.get(tag.agentId)![tag.tag] = tag.version;
  return result;
}
