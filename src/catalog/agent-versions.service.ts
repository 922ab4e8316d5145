import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import semver from 'semver';
import type { DataSource, EntityManager } from 'typeorm';
import { decodeCursor, toPage, type ListEnvelope, type PageRequest } from '../common/http/pagination.js';
import { newUuid } from '../common/ids.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { AgentDistTag } from './agent-dist-tag.entity.js';
import type { AgentPath } from './agent-path.js';
import { AgentVersion } from './agent-version.entity.js';
import type { Agent } from './agent.entity.js';
import { findAgentOrThrow } from './catalog.queries.js';
import {
  LATEST_TAG,
  type CatalogWriter,
  type DistTagView,
  type PublishVersionInput,
  type VersionSummaryView,
  type VersionView,
} from './catalog.views.js';
import { validateManifest } from './manifest-validator.js';
import { highestStable, highestVersion, isPublishableVersion } from './semver-rules.js';
import { isTagName, MAX_TAG_LENGTH } from './version-resolver.js';

type VersionRow = Pick<AgentVersion, 'id' | 'version' | 'yanked' | 'createdAt'>;

const summary = (row: VersionRow, tags: string[]): VersionSummaryView => ({
  version: row.version,
  yanked: row.yanked,
  createdAt: row.createdAt.toISOString(),
  tags,
});

const full = (row: AgentVersion, tags: string[]): VersionView => ({ ...summary(row, tags), manifest: row.manifest, prompt: row.prompt });

const invalidVersionBody = () =>
  ProblemException.validation([
    { field: 'version', code: 'invalid', message: 'version must be a semantic version such as 1.2.0 or 2.0.0-beta.1 (no leading v).' },
  ]);

/** A `{version}` path parameter: anything but a version is a 400 naming it. */
function parseVersionParam(version: string): string {
  if (typeof version !== 'string' || version.length > 256 || semver.valid(version) === null) {
    throw new ProblemException('invalid_request', 'version must be a semantic version such as 1.2.0.', { param: 'version' });
  }
  return version;
}

/** A `{tag}` path parameter. Tags that read as a version would never resolve (a version wins), so they are refused. */
function parseTagParam(tag: string): string {
  if (typeof tag !== 'string' || !isTagName(tag) || semver.valid(tag) !== null) {
    throw new ProblemException(
      'invalid_request',
      `tag must match ^[a-z][a-z0-9._-]*$ (at most ${MAX_TAG_LENGTH} characters) and must not be a version.`,
      { param: 'tag' },
    );
  }
  return tag;
}

/**
 * Per-agent bounds: every write and every run with `?version=` reads an agent's versions and
 * tags whole, and `GET` answers list its tags, so neither may grow without end.
 */
export const MAX_VERSIONS_PER_AGENT = 1000;
export const MAX_TAGS_PER_AGENT = 100;

/**
 * Published versions and dist-tags. Every write locks the agent row first, so concurrent
 * publishes, yanks and tag moves of one agent apply one after the other: two racing publishes
 * cannot both pass the "greater than every version" check.
 */
@Injectable()
export class AgentVersionsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Publishes the live manifest and prompt (or the ones given) as an immutable version. */
  async publish(writer: CatalogWriter, path: AgentPath, input: PublishVersionInput): Promise<VersionView> {
    if (!isPublishableVersion(input.version)) throw invalidVersionBody();
    // Validated before the lock is taken: compiling schemas is the slow part.
    const manifest = input.manifest === undefined ? undefined : validateManifest(input.manifest);
    return this.db.transaction(async (em) => {
      const agent = await findAgentOrThrow(em, writer.orgId, path, true);
      const existing = await this.versionsOf(em, agent);
      if (existing.length >= MAX_VERSIONS_PER_AGENT) {
        throw new ProblemException('conflict', `${path.scope}/${path.name} already has ${MAX_VERSIONS_PER_AGENT} versions, the most an agent can have.`);
      }
      const highest = highestVersion(existing.map((v) => v.version));
      if (highest !== null && !semver.gt(input.version, highest)) {
        throw new ProblemException(
          'conflict',
          `Version ${input.version} must be greater than every version published so far (yanked ones included); the highest is ${highest}.`,
        );
      }
      const row = await em.getRepository(AgentVersion).save(
        em.getRepository(AgentVersion).create({
          id: newUuid(),
          agentId: agent.id,
          orgId: agent.orgId,
          version: input.version,
          manifest: manifest ?? agent.manifest,
          prompt: input.prompt ?? agent.prompt,
          yanked: false,
          createdByUserId: writer.userId,
        }),
      );
      // A stable version above `latest` takes it (it is above every version, so above latest too); prereleases never do.
      const latest = await em.getRepository(AgentDistTag).findOne({ where: { agentId: agent.id, tag: LATEST_TAG } });
      if (semver.prerelease(row.version) === null && (!latest || semver.gt(row.version, latest.version))) {
        await this.upsertTag(em, agent, LATEST_TAG, row.version);
      }
      return full(row, await this.tagsPointingAt(em, agent, row.version));
    });
  }

  /** Newest first (by version precedence), cursor paged. */
  async list(orgId: string, path: AgentPath, page: PageRequest): Promise<ListEnvelope<VersionSummaryView>> {
    const agent = await findAgentOrThrow(this.db.manager, orgId, path);
    let rows = (await this.versionsOf(this.db.manager, agent)).sort((a, b) => semver.rcompare(a.version, b.version));
    if (page.cursor) {
      const after = page.cursor.id;
      if (semver.valid(after) === null) throw new ProblemException('invalid_request', 'cursor is not a cursor this API issued.', { param: 'cursor' });
      rows = rows.filter((r) => semver.lt(r.version, after));
    }
    const tags = await this.tagsByVersion(this.db.manager, agent);
    // The cursor records the last version shown (in the `id` slot of the shared cursor format).
    return toPage(
      rows.slice(0, page.limit + 1).map((r) => ({ ...r, id: r.version })),
      page.limit,
      (r) => summary(r, tags.get(r.version) ?? []),
    );
  }

  async get(orgId: string, path: AgentPath, version: string): Promise<VersionView> {
    const wanted = parseVersionParam(version);
    const agent = await findAgentOrThrow(this.db.manager, orgId, path);
    const row = await this.findVersionOrThrow(this.db.manager, agent, wanted);
    return full(row, await this.tagsPointingAt(this.db.manager, agent, row.version));
  }

  /**
   * Yanks a version: ranges and tags skip it from now on, an exact pin still finds it. If
   * `latest` pointed at it, `latest` moves to the highest remaining non-yanked stable
   * version, or disappears. Yanking a yanked version changes nothing.
   */
  async yank(orgId: string, path: AgentPath, version: string): Promise<VersionView> {
    const wanted = parseVersionParam(version);
    return this.db.transaction(async (em) => {
      const agent = await findAgentOrThrow(em, orgId, path, true);
      const row = await this.findVersionOrThrow(em, agent, wanted);
      if (!row.yanked) {
        row.yanked = true;
        await em.getRepository(AgentVersion).update({ id: row.id, orgId }, { yanked: true });
        const latest = await em.getRepository(AgentDistTag).findOne({ where: { agentId: agent.id, tag: LATEST_TAG } });
        if (latest?.version === row.version) {
          const next = highestStable(await this.versionsOf(em, agent));
          if (next === null) await em.getRepository(AgentDistTag).delete({ agentId: agent.id, tag: LATEST_TAG });
          else await this.upsertTag(em, agent, LATEST_TAG, next);
        }
      }
      return full(row, await this.tagsPointingAt(em, agent, row.version));
    });
  }

  /** Creates or moves a dist-tag; the version must exist and not be yanked (409 otherwise). */
  async setTag(orgId: string, path: AgentPath, tag: string, version: string): Promise<DistTagView> {
    const name = parseTagParam(tag);
    if (typeof version !== 'string' || version.length > 256 || semver.valid(version) === null) throw invalidVersionBody();
    return this.db.transaction(async (em) => {
      const agent = await findAgentOrThrow(em, orgId, path, true);
      const row = (await this.versionsOf(em, agent)).find((v) => semver.eq(v.version, version));
      if (!row) throw new ProblemException('conflict', `Version ${version} is not published; a dist-tag can only point at a published version.`);
      if (row.yanked) throw new ProblemException('conflict', `Version ${row.version} is yanked; a dist-tag cannot point at it.`);
      // `latest` is not counted: publishing may create it whatever the other tags.
      const tags = (await em.getRepository(AgentDistTag).find({ where: { agentId: agent.id, orgId }, select: { tag: true } })).filter((t) => t.tag !== LATEST_TAG);
      if (name !== LATEST_TAG && tags.length >= MAX_TAGS_PER_AGENT && !tags.some((t) => t.tag === name)) {
        throw new ProblemException('conflict', `${path.scope}/${path.name} already has ${MAX_TAGS_PER_AGENT} dist-tags besides latest, the most an agent can have; move or delete one.`);
      }
      await this.upsertTag(em, agent, name, row.version);
      return { tag: name, version: row.version };
    });
  }

  /** Removes a dist-tag; `latest` stays (409), it only moves. */
  async deleteTag(orgId: string, path: AgentPath, tag: string): Promise<void> {
    const name = parseTagParam(tag);
    await this.db.transaction(async (em) => {
      const agent = await findAgentOrThrow(em, orgId, path, true);
      if (name === LATEST_TAG) {
        throw new ProblemException('conflict', 'The latest dist-tag cannot be deleted; it follows the highest stable version, or move it with PUT.');
      }
      const result = await em.getRepository(AgentDistTag).delete({ agentId: agent.id, orgId, tag: name });
      if (!result.affected) throw new ProblemException('not_found', `No dist-tag ${name} on ${path.scope}/${path.name}.`, { param: 'tag' });
    });
  }

  private versionsOf(em: EntityManager, agent: Agent): Promise<VersionRow[]> {
    return em.getRepository(AgentVersion).find({
      where: { agentId: agent.id, orgId: agent.orgId },
      select: { id: true, version: true, yanked: true, createdAt: true },
    });
  }

  /** Exact lookup by precedence (`1.0.0+build` finds `1.0.0`), yanked versions included. */
  private async findVersionOrThrow(em: EntityManager, agent: Agent, version: string): Promise<AgentVersion> {
    const match = (await this.versionsOf(em, agent)).find((v) => semver.eq(v.version, version));
    if (!match) throw new ProblemException('agent_version_not_found', `Version ${version} of ${agent.scope}/${agent.name} is not published.`);
    return em.getRepository(AgentVersion).findOneByOrFail({ id: match.id, orgId: agent.orgId });
  }

  private async tagsByVersion(em: EntityManager, agent: Agent): Promise<Map<string, string[]>> {
    const tags = await em.getRepository(AgentDistTag).find({ where: { agentId: agent.id, orgId: agent.orgId }, order: { tag: 'ASC' } });
    const byVersion = new Map<string, string[]>();
    for (const t of tags) byVersion.set(t.version, [...(byVersion.get(t.version) ?? []), t.tag]);
    return byVersion;
  }

  private async tagsPointingAt(em: EntityManager, agent: Agent, version: string): Promise<string[]> {
    return (await this.tagsByVersion(em, agent)).get(version) ?? [];
  }

  private async upsertTag(em: EntityManager, agent: Agent, tag: string, version: string): Promise<void> {
    await em.query(
      `INSERT INTO agent_dist_tags (agent_id, tag, org_id, version, updated_at) VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (agent_id, tag) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
      [agent.id, tag, agent.orgId, version],
    );
  }
}
