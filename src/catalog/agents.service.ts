import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { isUuidString, newUuid } from '../common/ids.js';
import { toPage, type ListEnvelope, type PageRequest } from '../common/http/pagination.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import type { AgentPath } from './agent-path.js';
import { AgentVersion } from './agent-version.entity.js';
import { Agent } from './agent.entity.js';
import { distTagsOf, findAgentOrThrow } from './catalog.queries.js';
import {
  DRAFT_REF,
  type AgentView,
  type CatalogWriter,
  type CreateAgentInput,
  type ResolvedAgent,
  type UpdateAgentInput,
} from './catalog.views.js';
import { validateManifest } from './manifest-validator.js';
import { AgentDistTag } from './agent-dist-tag.entity.js';
import { resolveVersion } from './version-resolver.js';

const present = (agent: Agent, distTags: Record<string, string>): AgentView => ({
  id: agent.id,
  scope: agent.scope,
  name: agent.name,
  manifest: agent.manifest,
  prompt: agent.prompt,
  distTags,
  createdAt: agent.createdAt.toISOString(),
  updatedAt: agent.updatedAt.toISOString(),
});

const isUniqueViolation = (err: unknown): boolean => (err as { code?: string })?.code === '23505';

/** Agents and their live working copy; also what the run endpoint asks to find and resolve an agent. */
@Injectable()
export class AgentsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async create(writer: CatalogWriter, input: CreateAgentInput): Promise<AgentView> {
    const manifest = validateManifest(input.manifest);
    const repo = this.db.getRepository(Agent);
    try {
      const agent = await repo.save(
        repo.create({ id: newUuid(), orgId: writer.orgId, scope: input.scope, name: input.name, manifest, prompt: input.prompt }),
      );
      return present(agent, {});
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new ProblemException('conflict', `An agent ${input.scope}/${input.name} already exists in this organization.`);
      }
      throw err;
    }
  }

  /** Newest first, cursor paged. */
  async list(orgId: string, page: PageRequest): Promise<ListEnvelope<AgentView>> {
    const query = this.db
      .getRepository(Agent)
      .createQueryBuilder('a')
      .where('a.org_id = :orgId', { orgId })
      .orderBy('a.created_at', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .limit(page.limit + 1);
    if (page.cursor) {
      // The cursor decoded, but only an id this list issued (a UUID) may reach the query.
      if (!isUuidString(page.cursor.id)) throw new ProblemException('invalid_request', 'cursor is not a cursor this API issued.', { param: 'cursor' });
      query.andWhere('(a.created_at, a.id) < (:createdAt, :id)', { createdAt: new Date(page.cursor.createdAt), id: page.cursor.id });
    }
    const rows = await query.getMany();
    const tags = await distTagsOf(this.db.manager, orgId, rows.slice(0, page.limit).map((a) => a.id));
    return toPage(rows, page.limit, (agent) => present(agent, tags.get(agent.id) ?? {}));
  }

  async get(orgId: string, path: AgentPath): Promise<AgentView> {
    const agent = await findAgentOrThrow(this.db.manager, orgId, path);
    return present(agent, (await distTagsOf(this.db.manager, orgId, [agent.id])).get(agent.id)!);
  }

  /** Replaces the live manifest and/or prompt; published versions are untouched. */
  async update(orgId: string, path: AgentPath, input: UpdateAgentInput): Promise<AgentView> {
    const manifest = input.manifest === undefined ? undefined : validateManifest(input.manifest);
    return this.db.transaction(async (em) => {
      const agent = await findAgentOrThrow(em, orgId, path, true);
      if (manifest !== undefined) agent.manifest = manifest;
      if (input.prompt !== undefined) agent.prompt = input.prompt;
      const saved = await em.getRepository(Agent).save(agent);
      return present(saved, (await distTagsOf(em, orgId, [agent.id])).get(agent.id)!);
    });
  }

  /** The org's agent `scope/name`, or null (another org's agent is null too). */
  findByName(orgId: string, scope: string, name: string): Promise<Agent | null> {
    return this.db.getRepository(Agent).findOne({ where: { orgId, scope, name } });
  }

  /**
   * Which manifest and prompt a run of `agent` at `?version=selector` uses (API.md section 5,
   * step 8): 404 `agent_version_not_found` when nothing matches, 400 `invalid_request`
   * (`param: "version"`) for a selector that is no version, tag or range.
   */
  async resolve(agent: Agent, selector: string | undefined): Promise<ResolvedAgent> {
    if (selector === undefined || selector === '') {
      return { manifest: agent.manifest, prompt: agent.prompt, version: null, ref: DRAFT_REF };
    }
    const [versions, tags] = await Promise.all([
      this.db.getRepository(AgentVersion).find({ where: { agentId: agent.id, orgId: agent.orgId }, select: { version: true, yanked: true } }),
      this.db.getRepository(AgentDistTag).find({ where: { agentId: agent.id, orgId: agent.orgId } }),
    ]);
    const resolution = resolveVersion(selector, { versions, tags: new Map(tags.map((t) => [t.tag, t.version])) });
    if (resolution.kind === 'live') return { manifest: agent.manifest, prompt: agent.prompt, version: null, ref: DRAFT_REF };
    const row = await this.db.getRepository(AgentVersion).findOneOrFail({
      where: { agentId: agent.id, orgId: agent.orgId, version: resolution.version },
    });
    return { manifest: row.manifest, prompt: row.prompt, version: row.version, ref: row.version };
  }
}
